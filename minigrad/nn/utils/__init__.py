"""Model utilities: folding BatchNorm into the layer before it for inference."""
from minigrad.nn.utils.fusion import fuse_conv_bn, fuse_linear_bn, fuse_sequential  # noqa: F401
