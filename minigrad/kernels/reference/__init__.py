"""The reference backend ("numpy"): every kernel as plain numpy, one function per
step of the math. Read these first; the fast backend is held to them."""
