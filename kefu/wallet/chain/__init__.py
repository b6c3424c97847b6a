"""Chain clients behind one interface: look a transaction hash up on EVM chains and Bitcoin.

Use :func:`lookup_transaction`; it returns a :class:`TxInfo` or raises :class:`InvalidTxHash`
(the input cannot be a hash on that chain) or :class:`ChainUnavailable` (the node did not
answer). Nothing here imports web3 until an EVM chain is actually asked.
"""

from kefu.wallet.chain.base import (
    ChainClient,
    ChainError,
    ChainUnavailable,
    InvalidTxHash,
    RetryPolicy,
    TokenTransfer,
    TxInfo,
    TxOutput,
)
from kefu.wallet.chain.registry import (
    ChainNotConfigured,
    client_for,
    lookup_transaction,
    normalize_hash,
    use_client,
)
from kefu.wallet.chain.specs import (
    CHAINS,
    ChainSpec,
    chain_for_coin,
    chain_for_network,
    configured_chains,
    get_spec,
    required_confirmations,
)

__all__ = [
    "CHAINS",
    "ChainClient",
    "ChainError",
    "ChainNotConfigured",
    "ChainSpec",
    "ChainUnavailable",
    "InvalidTxHash",
    "RetryPolicy",
    "TokenTransfer",
    "TxInfo",
    "TxOutput",
    "chain_for_coin",
    "chain_for_network",
    "client_for",
    "configured_chains",
    "get_spec",
    "lookup_transaction",
    "normalize_hash",
    "required_confirmations",
    "use_client",
]
