"""Image metrics for cxr-mini evaluation, written here in numpy: PSNR, SSIM, MS-SSIM, intensity statistics.

MS-SSIM follows Wang, Simoncelli & Bovik (2003) as RoentGen uses it for sample diversity: 11x11 Gaussian window
(sigma 1.5), K1 = 0.01, K2 = 0.03, data range 255, five scales with 2x2 average pooling between them, weights
(0.0448, 0.2856, 0.3001, 0.2363, 0.1333); contrast-structure terms at every scale, luminance at the coarsest.
"""
import numpy as np
from scipy.ndimage import convolve1d

WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])


def _gauss(size=11, sigma=1.5):
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-x ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def _filt(x, g):
    y = convolve1d(x, g, axis=0, mode="constant")
    y = convolve1d(y, g, axis=1, mode="constant")
    h = len(g) // 2
    return y[h:-h, h:-h]  # 'valid' region


def _ssim_parts(a, b, L=255.0):
    g = _gauss()
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    mu_a, mu_b = _filt(a, g), _filt(b, g)
    saa = _filt(a * a, g) - mu_a ** 2
    sbb = _filt(b * b, g) - mu_b ** 2
    sab = _filt(a * b, g) - mu_a * mu_b
    lum = (2 * mu_a * mu_b + c1) / (mu_a ** 2 + mu_b ** 2 + c1)
    cs = (2 * sab + c2) / (saa + sbb + c2)
    return lum.mean(), cs.mean(), (lum * cs).mean()


def ssim(a, b):
    """Single-scale SSIM of two 8-bit grey images (float arrays in 0..255)."""
    return float(_ssim_parts(np.asarray(a, np.float64), np.asarray(b, np.float64))[2])


def ms_ssim(a, b):
    """Five-scale MS-SSIM of two grey images in 0..255 (>= 176 px per side)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    vals = []
    for s in range(5):
        lum, cs, _ = _ssim_parts(a, b)
        vals.append(max(cs, 0.0) if s < 4 else max(lum * cs, 0.0))
        if s < 4:
            h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
            a = a[:h, :w].reshape(h // 2, 2, w // 2, 2).mean((1, 3))
            b = b[:h, :w].reshape(h // 2, 2, w // 2, 2).mean((1, 3))
    return float(np.prod(np.array(vals) ** WEIGHTS))


def psnr(a, b):
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


FEATURES = ["mean", "std", "p05", "p50", "p95", "grad_energy", "laplacian_var", "center_minus_sides"]


def features(img):
    """Simple radiomic statistics of one 256x256 grey image (0..255)."""
    x = np.asarray(img, np.float64)
    gx, gy = np.diff(x, axis=1), np.diff(x, axis=0)
    lap = x[1:-1, 1:-1] * 4 - x[:-2, 1:-1] - x[2:, 1:-1] - x[1:-1, :-2] - x[1:-1, 2:]
    w = x.shape[1]
    centre = x[:, w * 3 // 8: w * 5 // 8].mean()  # mediastinum / spine
    sides = np.concatenate([x[:, w // 8: w * 3 // 8], x[:, w * 5 // 8: w * 7 // 8]], 1).mean()  # lungs
    p = np.percentile(x, [5, 50, 95])
    return np.array([x.mean(), x.std(), p[0], p[1], p[2], (gx ** 2).mean() + (gy ** 2).mean(), lap.var(),
                     centre - sides])


def histogram_emd(set_a, set_b):
    """1-D earth mover's distance (grey levels) between the pooled intensity histograms of two image sets."""
    ha = np.bincount(np.concatenate([np.asarray(i, np.uint8).ravel() for i in set_a]), minlength=256).astype(float)
    hb = np.bincount(np.concatenate([np.asarray(i, np.uint8).ravel() for i in set_b]), minlength=256).astype(float)
    return float(np.abs(np.cumsum(ha / ha.sum()) - np.cumsum(hb / hb.sum())).sum())


def frechet(fa, fb, ref):
    """Frechet distance between Gaussian fits of two feature sets, features standardised by `ref`'s mean/std."""
    from scipy import linalg
    mu, sd = ref.mean(0), ref.std(0) + 1e-8
    a, b = (fa - mu) / sd, (fb - mu) / sd
    ma, mb = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    cs = linalg.sqrtm(ca @ cb)
    return float(((ma - mb) ** 2).sum() + np.trace(ca + cb - 2 * np.real(cs)))
