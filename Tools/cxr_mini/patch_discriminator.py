"""A small PatchGAN discriminator for the VAE decoder's adversarial fine-tune (train_vae_decoder.py --adversarial).

Why: the sharper decoder draws a faint 8-px grid and bright blotches on the UNets' own latents, which lie off the
posterior means its reconstruction loss was tuned on. No pixel target exists for such a latent (a rendering only
loosely matches its original), so a reconstruction loss cannot ask for the grid to go; a discriminator can: it
learns to tell decoded renderings from real radiographs patch by patch, and the decoder learns to make them
indistinguishable. Receptive field 46 px at 1/8 resolution: several grid periods per patch, not whole anatomy
(the anatomy is the UNet's job, not the decoder's).
Loss: hinge (as in the VQGAN / SD-VAE training), on 1-channel images in [-1, 1].
"""
import torch.nn as nn
import torch.nn.functional as F


class PatchDiscriminator(nn.Module):
    def __init__(self, width=32):
        super().__init__()
        # Group norms, not spectral norms: with spectral norms the critic sat at chance (hinge 2.0) for 140 steps.
        self.body = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, width * 2, 4, 2, 1), nn.GroupNorm(8, width * 2), nn.LeakyReLU(0.2),
            nn.Conv2d(width * 2, width * 4, 4, 2, 1), nn.GroupNorm(8, width * 4), nn.LeakyReLU(0.2),
            nn.Conv2d(width * 4, width * 4, 3, 1, 1), nn.GroupNorm(8, width * 4), nn.LeakyReLU(0.2),
            nn.Conv2d(width * 4, 1, 3, 1, 1))

    def forward(self, x):
        return self.body(x)


def critic_loss(d_real, d_fake):
    """Hinge loss of the discriminator: real patches above +1, fake ones below -1."""
    return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()


def generator_loss(d_fake):
    """What the decoder minimises: the discriminator's score of its decoded renderings, negated."""
    return -d_fake.mean()
