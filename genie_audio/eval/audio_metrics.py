"""Audio reconstruction metrics (multi-scale mel distance, SI-SDR, log-spectral distance) and trivial baselines.

All functions work on mono float waveforms (16 kHz by default) in numpy; jax arrays are accepted and converted.
Every metric takes (reference, estimate) of identical shape, either (T,) -> float or batched (B, T) -> (B,).
Computation runs in float64 so that hand-computed expectations hold to many decimals.

Conventions (chosen to match DAC, Kumar et al. 2023, so numbers are comparable to the codec literature):
- Mel scale: Slaney (linear below 1 kHz, logarithmic above) with Slaney area normalisation, i.e. librosa's
  default `mel(htk=False, norm="slaney")`, which is what DAC's loss uses.
- STFT: periodic Hann window of length n_fft, centre padding of n_fft // 2 on both sides (reflect), magnitude.
- Multi-scale mel distance: windows [32 .. 2048], hop = window / 4, [5 .. 320] mels, mel of the power-1
  magnitude, L1 between log10(clamp(mel, 1e-5)), mean over frames and mels, SUMMED over the 7 scales
  (DAC's `MelSpectrogramLoss` with mag_weight 0, log_weight 1, pow 1). Pass `scale_reduction="mean"` for the
  per-scale average (= the sum / 7).
"""

from typing import Sequence

import numpy as np

from genie_audio.data.spectra import hann_window, stft_magnitude  # noqa: F401 (part of this module's API)

DEFAULT_SAMPLE_RATE = 16000
MEL_WINDOWS = (32, 64, 128, 256, 512, 1024, 2048)
MEL_BANDS = (5, 10, 20, 40, 80, 160, 320)
MEL_CLAMP = 1e-5
# Power floor for LSD: far below the power of any audible bin, only keeps log10 finite on exact zeros.
LSD_POWER_FLOOR = 1e-10
LSD_N_FFT, LSD_HOP = 2048, 512
SDR_EPS = 1e-8
SILENCE_NOISE_AMPLITUDE = 1e-5
SILENCE_SEED = 0


# ---------------------------------------------------------------------------------------------------------------
# Spectral front end.
# ---------------------------------------------------------------------------------------------------------------

# Slaney mel scale constants: linear part 200/3 Hz per mel up to 1 kHz (= 15 mel), then log steps of 6.4^(1/27).
_F_SP = 200.0 / 3.0
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
  """Slaney mel scale: linear below 1 kHz, logarithmic above."""
  hz = np.asarray(hz, dtype=np.float64)
  linear = hz / _F_SP
  log = _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
  return np.where(hz >= _MIN_LOG_HZ, log, linear)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
  """Inverse of `hz_to_mel`."""
  mel = np.asarray(mel, dtype=np.float64)
  linear = mel * _F_SP
  log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(mel, _MIN_LOG_MEL) - _MIN_LOG_MEL))
  return np.where(mel >= _MIN_LOG_MEL, log, linear)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
  """Slaney-style triangular mel filterbank, shape (n_mels, n_fft // 2 + 1).

  Triangles sit on n_mels + 2 points equally spaced on the Slaney mel scale between fmin and fmax
  (default Nyquist); each row is scaled by 2 / (bandwidth in Hz) so every filter has unit area ("slaney" norm).
  With a short FFT some low filters fall between FFT bins and are all zero (as in librosa); that is harmless.
  """
  fmax = sample_rate / 2.0 if fmax is None else float(fmax)
  if not 0.0 <= fmin < fmax <= sample_rate / 2.0:
    raise ValueError(f"need 0 <= fmin < fmax <= sample_rate/2, got fmin={fmin}, fmax={fmax}, sr={sample_rate}")
  fft_freqs = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
  mel_points = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))  # Hz, (n_mels + 2,)
  widths = np.diff(mel_points)
  # Signed distance from each band edge to each FFT bin, (n_mels + 2, n_bins).
  ramps = mel_points[:, None] - fft_freqs[None, :]
  rising = -ramps[:-2] / widths[:-1, None]
  falling = ramps[2:] / widths[1:, None]
  weights = np.maximum(0.0, np.minimum(rising, falling))
  weights *= (2.0 / (mel_points[2:] - mel_points[:-2]))[:, None]
  return weights


def mel_band_edges(sample_rate: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
  """The n_mels + 2 corner frequencies (Hz) of `mel_filterbank`; band i spans [edges[i], edges[i + 2]]."""
  fmax = sample_rate / 2.0 if fmax is None else float(fmax)
  return mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))


# ---------------------------------------------------------------------------------------------------------------
# Metrics.
# ---------------------------------------------------------------------------------------------------------------


def _check_pair(reference, estimate) -> tuple[np.ndarray, np.ndarray]:
  ref = np.asarray(reference, dtype=np.float64)
  est = np.asarray(estimate, dtype=np.float64)
  if ref.shape != est.shape:
    raise ValueError(f"reference and estimate must have the same shape, got reference {ref.shape} "
                     f"and estimate {est.shape}")
  if ref.ndim not in (1, 2):
    raise ValueError(f"expected mono waveforms of shape (T,) or (B, T), got {ref.shape}")
  if ref.shape[-1] == 0:
    raise ValueError(f"empty waveforms, shape {ref.shape}")
  return ref, est


def _scalar_or_batch(x: np.ndarray) -> np.ndarray | float:
  return float(x) if np.ndim(x) == 0 else np.asarray(x)


def multiscale_mel_distance(reference: np.ndarray, estimate: np.ndarray, sample_rate: int = DEFAULT_SAMPLE_RATE,
                            windows: Sequence[int] = MEL_WINDOWS, n_mels: Sequence[int] = MEL_BANDS,
                            scale_reduction: str = "sum") -> np.ndarray | float:
  """DAC's multi-scale mel distance (lower is better; 0 for identical signals).

  Per scale: mel of the magnitude STFT (hop = window // 4), L1 between log10(max(mel, 1e-5)), mean over frames
  and mels. Scales are summed by default (DAC's number); `scale_reduction="mean"` averages them instead.
  """
  ref, est = _check_pair(reference, estimate)
  if len(windows) != len(n_mels):
    raise ValueError(f"windows {tuple(windows)} and n_mels {tuple(n_mels)} differ in length")
  if scale_reduction not in ("sum", "mean"):
    raise ValueError(f"scale_reduction must be 'sum' or 'mean', got {scale_reduction!r}")
  total = np.zeros(ref.shape[:-1])
  for window, mels in zip(windows, n_mels):
    fb = mel_filterbank(sample_rate, window, mels)
    hop = max(window // 4, 1)
    log_ref = np.log10(np.maximum(stft_magnitude(ref, window, hop) @ fb.T, MEL_CLAMP))
    log_est = np.log10(np.maximum(stft_magnitude(est, window, hop) @ fb.T, MEL_CLAMP))
    total = total + np.mean(np.abs(log_ref - log_est), axis=(-2, -1))
  if scale_reduction == "mean":
    total = total / len(windows)
  return _scalar_or_batch(total)


def si_sdr(reference: np.ndarray, estimate: np.ndarray, eps: float = SDR_EPS) -> np.ndarray | float:
  """Scale-invariant SDR in dB (higher is better; Le Roux et al. 2019).

  Both signals are made zero-mean; the estimate is projected on the reference, target = a * ref with
  a = <est, ref> / |ref|^2, and SI-SDR = 10 log10(|target|^2 / |est - target|^2). Any non-zero gain, including a
  sign flip, leaves it unchanged. `eps` is added to both energies so silence gives a finite number.
  """
  ref, est = _check_pair(reference, estimate)
  ref = ref - ref.mean(axis=-1, keepdims=True)
  est = est - est.mean(axis=-1, keepdims=True)
  alpha = np.sum(est * ref, axis=-1, keepdims=True) / (np.sum(ref * ref, axis=-1, keepdims=True) + eps)
  target = alpha * ref
  noise = est - target
  ratio = (np.sum(target ** 2, axis=-1) + eps) / (np.sum(noise ** 2, axis=-1) + eps)
  return _scalar_or_batch(10.0 * np.log10(ratio))


def _power_db(wave: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
  """The STFT power in dB, floored at LSD_POWER_FLOOR so exact zeros stay finite."""
  return 10.0 * np.log10(np.maximum(stft_magnitude(wave, n_fft, hop) ** 2, LSD_POWER_FLOOR))


def log_spectral_distance(reference: np.ndarray, estimate: np.ndarray, n_fft: int = LSD_N_FFT,
                          hop: int = LSD_HOP) -> np.ndarray | float:
  """Log-spectral distance in dB (lower is better).

  Mean over frames of sqrt(mean over frequency bins of (10 log10 P_ref - 10 log10 P_est)^2), with P the power
  spectrum (Hann, centre padding) floored at 1e-10 so exact zeros stay finite. A gain g gives exactly |20 log10 g|.
  """
  ref, est = _check_pair(reference, estimate)
  return _lsd(_power_db(ref, n_fft, hop), _power_db(est, n_fft, hop))


def _lsd(log_ref: np.ndarray, log_est: np.ndarray) -> np.ndarray | float:
  """LSD of two power spectrograms in dB (..., frames, bins): RMS over bins, mean over frames."""
  per_frame = np.sqrt(np.mean((log_ref - log_est) ** 2, axis=-1))
  return _scalar_or_batch(per_frame.mean(axis=-1))


# Bands of `band_spectral_distances` (Hz): where a reconstruction loses what, e.g. an upper spectrum left as noise.
LSD_BANDS = ((0, 1000), (1000, 2000), (2000, 4000), (4000, 8000))


def band_name(low_hz: float, high_hz: float, measure: str = "lsd") -> str:
  """The metric key of one band: 'lsd_2k_4k' (`measure` 'lines': 'lines_2k_4k')."""
  return f"{measure}_{low_hz / 1000:g}k_{high_hz / 1000:g}k"


def _band_mask(hz: np.ndarray, low: float, high: float, sample_rate: int) -> np.ndarray:
  """Bins in [low, high) Hz; a band that ends at Nyquist keeps the Nyquist bin."""
  return (hz >= low) & (hz < high) if high < sample_rate / 2 else hz >= low


def band_spectral_distances(reference: np.ndarray, estimate: np.ndarray, bands=LSD_BANDS, n_fft: int = LSD_N_FFT,
                            hop: int = LSD_HOP, sample_rate: int = DEFAULT_SAMPLE_RATE
                            ) -> dict[str, np.ndarray | float]:
  """`log_spectral_distance` restricted to the bins of each band [low, high) Hz: {band_name: dB}."""
  ref, est = _check_pair(reference, estimate)
  return _band_lsds(_power_db(ref, n_fft, hop), _power_db(est, n_fft, hop), bands, n_fft, sample_rate)


def _band_lsds(log_ref: np.ndarray, log_est: np.ndarray, bands, n_fft: int, sample_rate: int
               ) -> dict[str, np.ndarray | float]:
  hz = np.arange(log_ref.shape[-1]) * sample_rate / n_fft
  out = {}
  for low, high in bands:
    in_band = _band_mask(hz, low, high, sample_rate)
    out[band_name(low, high)] = _lsd(log_ref[..., in_band], log_est[..., in_band])
  return out


# Bands of `band_line_correlations`: where the partials are rendered (the LSD's bands).
LINE_BANDS = LSD_BANDS
# The smooth envelope a spectrum's lines stand out from: its moving average over this many Hz.
LINE_ENVELOPE_HZ = 150.0


def band_line_correlations(reference: np.ndarray, estimate: np.ndarray, bands=LINE_BANDS, n_fft: int = LSD_N_FFT,
                           hop: int = LSD_HOP, sample_rate: int = DEFAULT_SAMPLE_RATE
                           ) -> dict[str, np.ndarray | float]:
  """Whether the estimate has the reference's spectral lines (partials) in each band: {'lines_2k_4k': r, ...}.

  Per frame, each log power spectrum (dB) minus its moving average over LINE_ENVELOPE_HZ leaves the lines and
  the valleys between them; r is their Pearson correlation over the band's bins, averaged over the frames
  where the reference has any such structure (0 if it has none). 1 for a copy at any gain, about 0 for noise
  under the right envelope (the LSD cannot tell those apart: it is dominated by the noise's own fine structure).
  """
  ref, est = _check_pair(reference, estimate)
  return _band_line_correlations(_power_db(ref, n_fft, hop), _power_db(est, n_fft, hop), bands, n_fft,
                                 sample_rate)


def _detrended(log_power: np.ndarray, width: int) -> np.ndarray:
  """(..., bins) minus its centred moving average over `width` bins (edges held)."""
  pad = width // 2
  padded = np.pad(log_power, [(0, 0)] * (log_power.ndim - 1) + [(pad, width - 1 - pad)], mode="edge")
  cumulative = np.cumsum(np.pad(padded, [(0, 0)] * (log_power.ndim - 1) + [(1, 0)]), axis=-1)
  return log_power - (cumulative[..., width:] - cumulative[..., :-width]) / width


def _band_line_correlations(log_ref: np.ndarray, log_est: np.ndarray, bands, n_fft: int, sample_rate: int
                            ) -> dict[str, np.ndarray | float]:
  hz = np.arange(log_ref.shape[-1]) * sample_rate / n_fft
  width = max(3, int(round(LINE_ENVELOPE_HZ * n_fft / sample_rate)))
  lines_ref, lines_est = _detrended(log_ref, width), _detrended(log_est, width)  # once, for every band
  out = {}
  for low, high in bands:
    in_band = _band_mask(hz, low, high, sample_rate)
    r, e = lines_ref[..., in_band], lines_est[..., in_band]
    r, e = r - r.mean(-1, keepdims=True), e - e.mean(-1, keepdims=True)
    norm_r, norm_e = np.sqrt((r * r).sum(-1)), np.sqrt((e * e).sum(-1))
    has_lines = norm_r > 1e-6 * np.sqrt(r.shape[-1])  # a frame at the power floor has none to match
    per_frame = np.where(has_lines, (r * e).sum(-1) / np.maximum(norm_r * norm_e, 1e-12), 0.0)
    out[band_name(low, high, "lines")] = _scalar_or_batch(per_frame.sum(-1) / np.maximum(has_lines.sum(-1), 1))
  return out


def evaluate_pair(reference: np.ndarray, estimate: np.ndarray,
                  sample_rate: int = DEFAULT_SAMPLE_RATE) -> dict[str, np.ndarray | float]:
  """The three metrics, the per-band LSD and line correlation for one (reference, estimate) pair (or a batch)."""
  ref, est = _check_pair(reference, estimate)
  # One power spectrogram of each signal serves the LSD, its bands and the lines.
  log_ref, log_est = _power_db(ref, LSD_N_FFT, LSD_HOP), _power_db(est, LSD_N_FFT, LSD_HOP)
  return {
      "mel_distance": multiscale_mel_distance(ref, est, sample_rate=sample_rate),
      "si_sdr": si_sdr(ref, est),
      "lsd": _lsd(log_ref, log_est),
      **_band_lsds(log_ref, log_est, LSD_BANDS, LSD_N_FFT, sample_rate),
      **_band_line_correlations(log_ref, log_est, LINE_BANDS, LSD_N_FFT, sample_rate),
  }


# ---------------------------------------------------------------------------------------------------------------
# Baselines: what a model must beat to have learned anything.
# ---------------------------------------------------------------------------------------------------------------


def silence_baseline(reference: np.ndarray, amplitude: float = SILENCE_NOISE_AMPLITUDE,
                     seed: int = SILENCE_SEED) -> np.ndarray:
  """A "silent" estimate: white noise of std `amplitude` (1e-5, about -100 dBFS) from a fixed seed.

  Exact zeros would make SI-SDR degenerate (0 / 0 projection) and pin the log spectra to their floors; a tiny
  fixed noise floor is inaudible, deterministic, and keeps every metric well defined.
  """
  ref = np.asarray(reference)
  rng = np.random.default_rng(seed)
  return (amplitude * rng.standard_normal(ref.shape)).astype(np.float64)


def lowpass_baseline(reference: np.ndarray, cutoff_hz: float, sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
  """The reference low-passed at `cutoff_hz` with a zero-phase FFT brick-wall (bins above the cutoff zeroed).

  With cutoff = frame_rate / 2 this is what a latent sampled at the frame rate could carry if it simply tracked
  the waveform: a tokenizer must beat it to show its channels hold more than the slow waveform trend. The
  brick-wall is exact for bin-aligned components and has no phase shift, at the price of some ringing.
  """
  ref = np.asarray(reference, dtype=np.float64)
  if cutoff_hz <= 0:
    raise ValueError(f"cutoff_hz must be positive, got {cutoff_hz}")
  n = ref.shape[-1]
  spectrum = np.fft.rfft(ref, axis=-1)
  spectrum[..., np.fft.rfftfreq(n, d=1.0 / sample_rate) > cutoff_hz] = 0.0
  return np.fft.irfft(spectrum, n=n, axis=-1)


def baseline_metrics(reference: np.ndarray, frame_rate: float,
                     sample_rate: int = DEFAULT_SAMPLE_RATE) -> dict[str, dict[str, np.ndarray | float]]:
  """`evaluate_pair` against the silence baseline and the low-pass copy at the latent Nyquist (frame_rate / 2)."""
  return {
      "silence": evaluate_pair(reference, silence_baseline(reference), sample_rate=sample_rate),
      "lowpass": evaluate_pair(reference, lowpass_baseline(reference, frame_rate / 2.0, sample_rate=sample_rate),
                               sample_rate=sample_rate),
  }
