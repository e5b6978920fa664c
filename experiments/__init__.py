"""Research experiments for genie-audio: ablation runners and their arms, probes and baselines (run as
`python experiments/<name>.py`; each docstring gives the command that reproduces its table in docs/)."""
