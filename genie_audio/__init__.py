"""genie-audio: Genie's tokenizer -> latent actions -> dynamics recipe applied to recorded music."""
