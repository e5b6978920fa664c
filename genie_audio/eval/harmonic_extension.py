"""Harmonic bandwidth extension of decoded audio: each octave above a crossover re-written from the octave below it
transposed up an octave, at the level the decoder gave that band (issue 25; measured by
experiments/harmonic_extension.py, not part of decoding: fed this CPU-size decoder's partials it does not pay).

Why: at CPU size the flow decoder renders a note's partials only below ~2 kHz; above, it writes noise at the
right level (its envelope path) but no harmonic lines. Transposing by exactly an octave maps every partial
k f0 of a note to 2k f0, again a partial of the same note, so the lines continue upward for every note of a
chord at once; what was noise stays noise. Codecs do the same at low rates (the harmonic transposer of MPEG-D
USAC's bandwidth extension). The band levels are kept from the decoder's own output, which the envelope path
gets right; only the fine structure within each band comes from below.

Transposition in the STFT: a sinusoid's phase advances by omega * hop per frame in every bin of its lobe, so
doubling a bin's phase doubles its frequency with the frame rate kept. Bin j of the result is frequency j / 2
of the input: for even j the bin j / 2 with its phase doubled, for odd j the product of its two neighbours'
unit phasors (phase phi_a + phi_b) at their geometric-mean magnitude.

Dimension keys: B batch, N frames, F frequency bins, K bands.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.models import spectral

HOP = 160  # the 50 frames/s tokenizer's STFT: 640-sample windows, 25 Hz bins

# Below this fraction of the decoder's power in a band, the transposed octave is taken as empty (e.g. a source
# octave the recording does not have) and the decoder's own band is kept.
EMPTY_BAND = 1e-4


def octave_up(spec_BNF: jnp.ndarray) -> jnp.ndarray:
  """(B, N, F) complex -> (B, N, F): bin j holds frequency j / 2 of the input, its phase doubled."""
  F = spec_BNF.shape[-1]
  j = np.arange(F)
  below, above = spec_BNF[..., j // 2], spec_BNF[..., np.minimum((j + 1) // 2, F - 1)]
  product = below * above  # magnitude |a||b|, phase phi_a + phi_b (2 phi for even j)
  return product / jnp.sqrt(jnp.maximum(jnp.abs(product), 1e-30))


def band_matrix(num_bins: int, first_bin: int, band_bins: int) -> np.ndarray:
  """(F, K) 0/1: band k holds bins [first_bin + k band_bins, first_bin + (k + 1) band_bins), the last one up to
  the top bin."""
  count = max(1, -(-(num_bins - first_bin) // band_bins))
  band_of_bin = np.minimum((np.arange(num_bins) - first_bin) // band_bins, count - 1)
  return ((band_of_bin[:, None] == np.arange(count)[None, :]) & (np.arange(num_bins)[:, None] >= first_bin)
          ).astype(np.float32)


def extend(spec_BNF: jnp.ndarray, crossover_bin: int, band_bins: int) -> jnp.ndarray:
  """Bins below `crossover_bin` unchanged; every octave above it the octave below transposed up (the first from
  the input, each next from the one just written), at the input's power per frame and band of `band_bins` bins
  (`at_band_power`)."""
  F = spec_BNF.shape[-1]
  _check_crossover(crossover_bin, F)
  written = spec_BNF
  low = crossover_bin
  # Each octave from the one below it, as written. The top bin of an octave also reads the bin at its source's
  # top edge, the input's own: its neighbour in the spectrum, so its phase fits (clamping it to the octave below
  # made both top bins the same phase, and the lines measured worse).
  while low < F:
    high = min(2 * low, F)
    written = written.at[..., low:high].set(octave_up(written)[..., low:high])
    low = high
  return at_band_power(written, spec_BNF, crossover_bin, band_bins)


def at_band_power(written_BNF: jnp.ndarray, spec_BNF: jnp.ndarray, crossover_bin: int, band_bins: int
                  ) -> jnp.ndarray:
  """`spec` below `crossover_bin`; above it `written`, scaled per frame and band of `band_bins` bins to `spec`'s
  power there. A band where `written` has under EMPTY_BAND of that power keeps `spec`."""
  F = spec_BNF.shape[-1]
  _check_crossover(crossover_bin, F)
  if band_bins < 1:
    raise ValueError(f"harmonic extension: band_bins must be >= 1, got {band_bins}")
  bands_FK = jnp.asarray(band_matrix(F, crossover_bin, band_bins))
  sizes_K = bands_FK.sum(axis=0)
  target_BNK = (jnp.abs(spec_BNF) ** 2) @ bands_FK / sizes_K
  written_BNK = (jnp.abs(written_BNF) ** 2) @ bands_FK / sizes_K
  empty_BNK = written_BNK <= EMPTY_BAND * target_BNK
  gain_BNK = jnp.where(empty_BNK, 0.0, jnp.sqrt(target_BNK / jnp.maximum(written_BNK, 1e-30)))
  keep_BNF = (empty_BNK.astype(jnp.float32) @ bands_FK.T) > 0
  upper_F = np.arange(F) >= crossover_bin
  return jnp.where(upper_F & ~keep_BNF, written_BNF * (gain_BNK @ bands_FK.T), spec_BNF)


def _check_crossover(crossover_bin: int, num_bins: int) -> None:
  if not 0 < crossover_bin < num_bins:
    raise ValueError(f"harmonic extension: crossover bin {crossover_bin} outside (0, {num_bins}) "
                     f"(bins of {SAMPLE_RATE / (2 * (num_bins - 1)):g} Hz)")


def bin_at(hz: float, hop: int) -> int:
  """The STFT bin (of `spectral.stft(., hop)`) at `hz`."""
  return int(round(hz * spectral.n_fft(hop) / SAMPLE_RATE))


def extend_wave(wave_BT: np.ndarray, crossover_hz: float, band_hz: float, hop: int = HOP) -> np.ndarray:
  """`extend` as a post-process of decoded audio (B, T) (T a multiple of `hop`): analysed, extended, resynthesised.
  On the decoder's own flow output it does worse: the frames a flow samples are not the STFT of any signal,
  and their phases do not advance frame to frame as a partial's do, which the transposition relies on."""
  spec = spectral.stft(jnp.asarray(wave_BT, jnp.float32), hop)
  extended = extend(spec, bin_at(crossover_hz, hop), max(1, bin_at(band_hz, hop)))
  return np.asarray(spectral.istft(extended, hop))
