"""``kefu wallet ...``: diagnose a transaction from the console, load demo wallet records.

``kefu wallet diagnose --chain ethereum --tx HASH [--customer EMAIL]`` prints the diagnosis as
JSON. Exit status: 0 diagnosed; 2 bad input (malformed hash, unknown chain, no node configured for
the chain, unknown customer), with the reason on
stderr; 3 the chain's node could not be reached (the JSON, verdict ``chain_unavailable``, is
still printed) — so scripts can tell "the answer is X" from "could not ask".
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_BAD_INPUT = 2
EXIT_CHAIN_UNAVAILABLE = 3


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("wallet", help="wallet records and on-chain diagnosis")
    wallet_sub = p.add_subparsers(dest="wallet_command", metavar="ACTION", required=True)

    d = wallet_sub.add_parser(
        "diagnose",
        help="look a transaction up on chain and against a customer's records; prints JSON",
        description="Chains: ethereum, bsc, polygon, arbitrum, optimism (JSON-RPC, KEFU_ETH_RPC_URL ...), "
        "bitcoin (Esplora, KEFU_BTC_ESPLORA_URL). Exit 0 diagnosed, 2 bad input, 3 chain unavailable.",
    )
    d.add_argument("--chain", required=True, help="ethereum, bsc, polygon, arbitrum, optimism or bitcoin")
    d.add_argument("--tx", required=True, metavar="HASH", help="transaction hash (TxID)")
    d.add_argument("--customer", metavar="EMAIL", help="compare with this customer's wallet records")
    d.add_argument("--kind", choices=("deposit", "withdrawal"), help="default: from the customer's records")
    d.add_argument("--coin", help="e.g. USDT")
    d.add_argument("--network", help="the network the customer named, e.g. ERC-20")
    d.add_argument("--language", default="en", help="language of message and evidence (en, zh-hans)")
    d.add_argument("--refresh", action="store_true", help="skip the lookup cache")
    d.set_defaults(func=cmd_diagnose)

    demo = wallet_sub.add_parser("demo", help="load demo deposit addresses, deposits and withdrawals")
    demo.set_defaults(func=cmd_demo)


_ALIASES = {"eth": "ethereum", "btc": "bitcoin", "bnb": "bsc", "matic": "polygon"}


def cmd_diagnose(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from kefu.wallet.chain import CHAINS, InvalidTxHash, configured_chains, get_spec, normalize_hash
    from kefu.wallet.diagnosis import Verdict, diagnose, uid_for

    chain = _ALIASES.get(args.chain.strip().lower(), args.chain.strip().lower())
    if chain not in CHAINS:
        print(f"error: unknown chain {args.chain!r}; known: {', '.join(CHAINS)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        normalize_hash(chain, args.tx)
    except InvalidTxHash as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if chain not in configured_chains():
        print(f"error: no node configured for {chain}: set {get_spec(chain).env_var}", file=sys.stderr)
        return EXIT_BAD_INPUT
    uid = None
    if args.customer:
        uid = uid_for(args.customer)
        if uid is None:
            print(f"error: the wallet knows no customer {args.customer!r}", file=sys.stderr)
            return EXIT_BAD_INPUT
    result = diagnose(
        tx_hash=args.tx,
        chain=chain,
        uid=uid,
        coin=args.coin,
        network=args.network,
        kind=args.kind,
        language=args.language,
        refresh=args.refresh,
    )
    print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    return EXIT_CHAIN_UNAVAILABLE if result.verdict == Verdict.CHAIN_UNAVAILABLE else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from kefu.wallet.demo_records import load

    for line in load():
        print(line)
    return 0
