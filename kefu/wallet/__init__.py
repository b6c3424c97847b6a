"""The wallet integration: a typed backend interface and a demo implementation.

The operator implements :class:`kefu.wallet.backend.WalletBackend` against their own systems
and names it in ``KEFU_WALLET_BACKEND``. ``backend`` and ``demo`` define no models, so they
import without the app being installed.
"""
