"""The secret guard finds seed phrases and private keys, hides them, and keeps what agents need."""

from __future__ import annotations

import json
import random
import re
import secrets
from typing import Literal

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mnemonic import Mnemonic

from kefu.trust import guard

LANGUAGES = ("english", "chinese_simplified", "chinese_traditional")
STRENGTHS = {12: 128, 15: 160, 18: 192, 21: 224, 24: 256}
SEED_PLACEHOLDER_EN = "[hidden: possible seed phrase]"
KEY_PLACEHOLDER_EN = "[hidden: possible private key]"


def words(language: str, length: int) -> list[str]:
    return Mnemonic(language).generate(STRENGTHS[length]).split()


def without_placeholders(text: str) -> str:
    return re.sub(r"\[(?:hidden|已隐藏|已隱藏)[^\]]*\]", "", text)


def assert_words_hidden(result: guard.ScanResult, phrase: list[str], *, allowed: str = "") -> None:
    """No word of the phrase is left in the redacted text (outside the text we wrapped it in)."""
    assert result.secret
    rest = without_placeholders(result.redacted)
    for word in phrase:
        if word not in allowed:
            assert word not in rest, (word, result.redacted)


def assert_exactly_hidden(text: str, secret: str, *, language: str = "en") -> guard.ScanResult:
    """``secret`` occurs once in ``text``; it and only it is replaced by one placeholder."""
    result = guard.scan(text, language=language)
    assert result.secret, text
    assert len(result.findings) == 1, result.findings
    finding = result.findings[0]
    assert text[finding.start : finding.end] == secret
    before, after = text.split(secret)
    assert result.redacted.startswith(before) and result.redacted.endswith(after)
    assert secret not in result.redacted
    return result


# --------------------------------------------------------------------------- seed phrases


@pytest.mark.parametrize("length", sorted(STRENGTHS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_generated_phrase_of_every_length_and_list_is_hidden(language: str, length: int) -> None:
    """A freshly generated phrase pasted with spaces is hidden, with or without context."""
    phrase = words(language, length)
    for text in (" ".join(phrase), "hi, here it is: " + " ".join(phrase) + " thanks"):
        result = guard.scan(text, language="en")
        assert [f.kind for f in result.findings] == ["mnemonic"]
        assert SEED_PLACEHOLDER_EN in result.redacted
        assert_words_hidden(result, phrase, allowed="hi, here it is: thanks")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "fmt",
    [
        lambda ws: ", ".join(ws),
        lambda ws: ",".join(ws),
        lambda ws: "; ".join(ws),
        lambda ws: "\n".join(ws),
        lambda ws: "、".join(ws),
        lambda ws: " ".join(f"{i}. {w}" for i, w in enumerate(ws, 1)),
        lambda ws: "\n".join(f"{i}.{w}" for i, w in enumerate(ws, 1)),
        lambda ws: "".join(f"{i}){w}" for i, w in enumerate(ws, 1)),
        lambda ws: " ".join(f"({i}) {w}" for i, w in enumerate(ws, 1)),
        lambda ws: "".join(chr(0x2460 + i) + w for i, w in enumerate(ws)),
        lambda ws: " | ".join(ws),
    ],
    ids=["comma", "comma-tight", "semicolon", "newline", "ideographic-comma", "numbered", "numbered-lines",
         "paren", "paren-both", "circled", "table"],
)  # fmt: skip
def test_phrase_formats_are_hidden(language: str, fmt) -> None:
    """Separators and numbering that wallets and people use do not hide a phrase from the guard."""
    for length in (12, 24):
        phrase = words(language, length)
        result = guard.scan(fmt(phrase), language="en")
        assert [f.kind for f in result.findings] == ["mnemonic"]
        rest = without_placeholders(result.redacted)
        assert not re.search(r"[A-Za-z\u4e00-\u9fff]", rest), result.redacted  # only numbering is left


def test_upper_case_and_title_case_english_phrases_are_hidden() -> None:
    phrase = words("english", 12)
    for text in (" ".join(phrase).upper(), " ".join(w.title() for w in phrase)):
        assert_exactly_hidden("Mnemonic: " + text + ".", text)


def test_a_phrase_that_repeats_two_words_and_holds_a_typo_is_hidden() -> None:
    """Repeats make a run look like prose unless a window passes the checksum; with a typo, the
    checksum is tried with its corrections (a random 12-word phrase repeats two words about
    once in 2,000 — found by the random test below)."""
    text = "napkin flame defy keep napkin foodx upon toe bleak move flame icon"
    assert_exactly_hidden(text, text)


def test_english_phrase_with_one_typo_is_hidden() -> None:
    """A run of 12 list words with one word mistyped (edit distance 1) is still a phrase."""
    english = set(Mnemonic("english").wordlist)
    for _ in range(20):
        phrase = words("english", 12)
        i = random.randrange(12)
        word = phrase[i]
        typo = next(
            t
            for t in (word + "x", word[:-1], word[:-1] + "q", word[1] + word[0] + word[2:], "z" + word)
            if t not in english and len(t) >= 4 and t != word
        )
        if len(typo) > 8 or len(word) < 4:
            continue
        phrase[i] = typo
        text = " ".join(phrase)
        result = assert_exactly_hidden(text, text)
        assert result.findings[0].kind == "mnemonic"


def test_shorter_english_run_needs_context() -> None:
    """Nine list words are a (partial) phrase only next to words like "seed phrase"."""
    phrase = words("english", 12)[:9]
    bare = "numbers: " + " ".join(phrase)
    assert not guard.scan(bare).secret
    assert_exactly_hidden("my seed phrase is: " + " ".join(phrase), " ".join(phrase))
    assert_exactly_hidden("助记词 " + " ".join(phrase), " ".join(phrase))


@pytest.mark.parametrize("language", ["chinese_simplified", "chinese_traditional"])
def test_unspaced_chinese_phrase_with_context_is_hidden(language: str) -> None:
    """Unspaced Chinese is hidden next to context words when a window passes the checksum.

    Deterministic draws: the prose filter misses about 1 in 25,000 random phrases.
    """
    rng = random.Random(20261122)
    m = Mnemonic(language)
    templates = [
        "我的助记词是{p}，请帮我看看",
        "助记词：{p}",
        "{p} 这是我的助记词",
        "恢复短语 {p}",
        "我的助記詞是{p}，請幫我看看",
        "種子：{p}。",
        "my seed phrase: {p}",
        "私钥和助记词我都备份了：{p}",
    ]
    for length, strength in STRENGTHS.items():
        for template in templates:
            phrase = "".join(m.to_mnemonic(rng.randbytes(strength // 8)).split())
            text = template.format(p=phrase)
            result = guard.scan(text)
            assert result.secret, text
            # The whole phrase is hidden (a neighbouring character may go with it).
            kept = without_placeholders(result.redacted)
            assert not any(phrase[k : k + 3] in kept for k in range(length - 2)), (text, result.redacted)


def test_spaced_chinese_phrase_needs_no_context() -> None:
    for language in ("chinese_simplified", "chinese_traditional"):
        phrase = words(language, 12)
        text = "你看一下 " + " ".join(phrase) + " 谢谢"
        assert_exactly_hidden(text, " ".join(phrase), language="zh-hans")


def test_long_spaced_chinese_run_is_hidden_by_checksum_window() -> None:
    """A valid phrase inside a longer spaced run is found by its checksum."""
    phrase = words("chinese_simplified", 12)
    extra = ["的"] * 3  # makes the run 15 characters long, not a phrase length by itself
    text = " ".join(extra + phrase)
    result = guard.scan(text)
    assert result.secret
    assert_words_hidden(result, phrase, allowed="的")


def seeded_phrase(language: str, length: int, seed: int) -> list[str]:
    return Mnemonic(language).to_mnemonic(random.Random(seed).randbytes(STRENGTHS[length] // 8)).split()


def assert_exact_almost_always(
    language: str, length: int, template: str, joiner: str, *, zh: bool, min_exact: int = 11
) -> None:
    """Over 16 phrases: each is hidden whole and at most a few neighbouring words with it, and
    in most the neighbours all survive. A list word next to a phrase goes with it only when
    that shifted window passes the checksum too (1 in 16 for a 12-word phrase, per reading of
    the word: a word one letter from several list words has several): nothing tells which
    window is the phrase then, and the guard hides both."""
    exact = 0
    for seed in range(16):
        phrase = joiner.join(seeded_phrase(language, length, seed))
        text = template.format(p=phrase)
        result = guard.scan(text, language="zh-hans" if zh else "en")
        assert len(result.findings) == 1, (text, result.findings)
        finding = result.findings[0]
        start = text.index(phrase)
        assert finding.start <= start and finding.end >= start + len(phrase), (text, result.redacted)
        # At most a few neighbouring words go with it, never the text further away.
        assert finding.start >= start - 12 and finding.end <= start + len(phrase) + 12, (
            text,
            result.redacted,
        )
        exact += (finding.start, finding.end) == (start, start + len(phrase))
    assert exact >= min_exact, exact


@pytest.mark.parametrize("length", sorted(STRENGTHS))
@pytest.mark.parametrize(
    "template, joiner",
    [
        ("hello my words are {p} thanks bye", " "),  # "hello", "words", "thanks": list words or one off
        ("bad value {p}", " "),
        ("seed: {p}. Thanks!", " "),
        ("你好，我的钱包是 {p} 谢谢你们", " "),
        ("hello, {p}; thank you", ", "),
        ("please help\n{p}\nhello again", "\n"),
    ],
)
def test_words_next_to_a_phrase_survive(length: int, template: str, joiner: str) -> None:
    """Redaction is exact: ordinary words next to a phrase stay, even when they are list words."""
    assert_exact_almost_always("english", length, template, joiner, zh=False)


@pytest.mark.parametrize("length", sorted(STRENGTHS))
def test_words_next_to_a_phrase_split_over_lines_survive(length: int) -> None:
    # "line" is one letter from six list words (fine, life, like ...) and "thanks" from "thank":
    # each reading is one more chance for a shifted window to pass, hence the lower bar.
    template = "my seed words, one per line:\n{p}\nthanks bye"
    assert_exact_almost_always("english", length, template, "\n", zh=False, min_exact=8)


@pytest.mark.parametrize("length", sorted(STRENGTHS))
@pytest.mark.parametrize(
    "template, joiner",
    [
        ("你好 是 {p} 的 谢谢", " "),  # 是 and 的 are list characters
        ("我的助记词：{p}。谢谢", "，"),
        ("助记词 是\n{p}\n好 的", "\n"),
        ("hello {p} thanks", " "),
    ],
)
@pytest.mark.parametrize("language", ["chinese_simplified", "chinese_traditional"])
def test_characters_next_to_a_chinese_phrase_survive(
    language: str, length: int, template: str, joiner: str
) -> None:
    assert_exact_almost_always(language, length, template, joiner, zh=True)


def test_a_phrase_is_cut_exactly() -> None:
    """This phrase's shifted windows fail the checksum: exactly the phrase goes."""
    phrase = " ".join(seeded_phrase("english", 12, seed=0))
    assert_exactly_hidden(f"hello my words are {phrase} thanks bye", phrase)
    assert_exactly_hidden(f"bad value: {phrase}, thank you", phrase)


def test_a_mistyped_phrase_is_cut_exactly_too() -> None:
    """One typo inside the phrase: the corrected word completes the checksum, so the
    neighbours still survive (and the mistyped word is hidden with the rest)."""
    phrase = seeded_phrase("english", 12, seed=5)
    word = next(w for w in phrase[1:-1] if 5 <= len(w) <= 7)
    typo = word[:-1] + ("x" if word[-1] != "x" else "q")
    text = " ".join(typo if w == word else w for w in phrase)
    assert_exactly_hidden(f"hello you {text} one day", text)  # hello, you, one: list words


def test_neighbours_survive_random_phrases_almost_always() -> None:
    """The phrase is always hidden whole; a list word next to it goes with it only when the
    shifted window happens to pass the checksum too (about 1 in 16 for 12 words): the guard
    never guesses which of two valid windows is the phrase."""
    rng = random.Random(11)
    kept = 0
    for _ in range(200):
        phrase = " ".join(Mnemonic("english").to_mnemonic(rng.randbytes(16)).split())
        result = guard.scan(f"hello {phrase} thanks", language="en")
        assert phrase not in result.redacted and len(result.findings) == 1
        assert not (set(without_placeholders(result.redacted).split()) - {"hello", "thanks"}), result.redacted
        kept += result.redacted == f"hello {SEED_PLACEHOLDER_EN} thanks"
    assert kept >= 150, kept


def test_a_long_mistyped_phrase_is_not_cut_to_a_chance_window() -> None:
    """A 24-word phrase with one word changed into another list word fails its checksum; an
    inner 12-word window may pass by chance, but cutting to it would leave 12 words visible.
    At most 4 words (3 + 21 or 1 + 3 around a window of 18 that passed by chance) may show."""
    rng = random.Random(5)
    english = Mnemonic("english").wordlist
    for _ in range(200):
        phrase = Mnemonic("english").to_mnemonic(rng.randbytes(32)).split()
        phrase[rng.randrange(24)] = rng.choice(english)
        text = " ".join(phrase)
        result = guard.scan(f"hi {text} ok", language="en")
        assert result.secret
        visible = without_placeholders(result.redacted).split()
        assert len(visible) <= 2 + 4, result.redacted  # "hi", "ok" and at most 4 phrase words


def test_finding_offsets_point_at_the_secret() -> None:
    phrase = " ".join(words("english", 12))
    key = secrets.token_hex(32)
    text = f"mnemonic: {phrase} and private key {key} done"
    result = guard.scan(text, language="en")
    assert [(text[f.start : f.end], f.kind) for f in result.findings] == [
        (phrase, "mnemonic"),
        (key, "private_key_hex"),
    ]
    assert result.redacted == f"mnemonic: {SEED_PLACEHOLDER_EN} and private key {KEY_PLACEHOLDER_EN} done"


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    "template",
    [
        "private key: {k}",
        "Private Key={k}",
        "我的私钥是{k}",
        "私钥：\n{k}",
        "key: {k}",
        '{{"privateKey": "{k}"}}',
        "PRIVATE_KEY={k}",
        "secret {k}",
        "{k} is my private key",
        "导出的密钥 {k}",
    ],
)
@pytest.mark.parametrize("prefix", ["", "0x"])
def test_hex_private_key_with_key_context_is_hidden(template: str, prefix: str) -> None:
    key = prefix + secrets.token_hex(32)
    result = assert_exactly_hidden(template.format(k=key), key)
    assert result.findings[0].kind == "private_key_hex"


def test_upper_case_hex_key_is_hidden() -> None:
    key = secrets.token_hex(32).upper()
    assert_exactly_hidden(f"private key {key}", key)


@pytest.mark.parametrize(
    "template",
    [
        "tx hash: {h}",
        "txid {h}",
        "交易哈希：{h}",
        "交易 {h} 还没到账",
        "哈希 {h}",
        "Transaction {h} failed",
        "https://etherscan.example/tx/{h}",
        "see explorer.example/tx/{h} please",
        "https://tronscan.example/#/transaction/{h}",
        "我的充值记录 {h}",
        "my Sui address {h}",
        '{{"hash": "{h}"}}',
    ],
)
@pytest.mark.parametrize("prefix", ["", "0x"])
def test_transaction_hashes_are_kept(template: str, prefix: str) -> None:
    """Agents need tx hashes: with hash/tx context or in an explorer URL they pass untouched."""
    value = prefix + secrets.token_hex(32)
    text = template.format(h=value)
    result = guard.scan(text)
    assert not result.secret, text
    assert result.redacted == text
    (candidate,) = guard.hex_candidates(text)
    assert candidate.verdict == "tx_hash"


def test_bare_hex_without_context() -> None:
    """Documented choice: a bare 0x-prefixed 64-hex is kept (usually a tx hash), a bare
    unprefixed one is hidden (a wallet exports keys that way); both are ambiguous candidates."""
    value = secrets.token_hex(32)
    kept = guard.scan("0x" + value)
    assert not kept.secret and kept.redacted == "0x" + value
    hidden = guard.scan(value)
    assert hidden.secret and value not in hidden.redacted
    candidates = guard.hex_candidates(f"0x{value} {value}")
    assert [(c.verdict, c.prefixed, c.value) for c in candidates] == [
        ("ambiguous", True, value),
        ("ambiguous", False, value),
    ]


def test_chain_facts_settle_ambiguous_hex() -> None:
    """After a chain lookup: a found transaction is kept, an unknown 0x-hex is hidden."""
    value = secrets.token_hex(32)
    assert not guard.scan_with_chain_facts(value, tx_hashes=["0x" + value.upper()]).secret
    assert guard.scan_with_chain_facts("0x" + value, not_tx_hashes=[value]).secret
    # Key context wins over a (wrong) lookup result.
    assert guard.scan_with_chain_facts(f"private key {value}", tx_hashes=[value]).secret


def test_hash_and_key_in_one_message_are_told_apart() -> None:
    tx, key = secrets.token_hex(32), secrets.token_hex(32)
    text = f"tx hash: {tx}\nprivate key: {key}"
    result = guard.scan(text, language="en")
    assert result.redacted == f"tx hash: {tx}\nprivate key: {KEY_PLACEHOLDER_EN}"


def wif(payload: bytes, version: int = 0x80) -> str:
    return base58.b58encode_check(bytes([version]) + payload).decode()


@pytest.mark.parametrize("version", [0x80, 0xEF])
@pytest.mark.parametrize("compressed", [True, False])
def test_wif_keys_are_hidden(version: int, compressed: bool) -> None:
    key = wif(secrets.token_bytes(32) + (b"\x01" if compressed else b""), version)
    result = assert_exactly_hidden(f"my WIF {key} ok", key)
    assert result.findings[0].kind == "wif"


def test_base58_string_with_a_bad_checksum_is_not_a_wif() -> None:
    key = wif(secrets.token_bytes(32) + b"\x01")
    broken = key[:-1] + ("2" if key[-1] != "2" else "3")
    assert not guard.scan(f"code {broken}").secret


EXTENDED_PRIVATE = {"xprv": "0488ade4", "yprv": "049d7878", "zprv": "04b2430c", "tprv": "04358394",
                    "uprv": "044a4e28", "vprv": "045f18bc"}  # fmt: skip
EXTENDED_PUBLIC = {"xpub": "0488b21e", "ypub": "049d7cb2", "zpub": "04b24746", "tpub": "043587cf"}


def extended_key(version_hex: str, private: bool) -> str:
    body = secrets.token_bytes(4 + 4 + 1)  # depth+fingerprint+child (lengths only matter)
    chain_code = secrets.token_bytes(32)
    key = b"\x00" + secrets.token_bytes(32) if private else b"\x02" + secrets.token_bytes(32)
    return base58.b58encode_check(bytes.fromhex(version_hex) + body + chain_code + key).decode()


@pytest.mark.parametrize("prefix", sorted(EXTENDED_PRIVATE))
def test_extended_private_keys_are_hidden(prefix: str) -> None:
    key = extended_key(EXTENDED_PRIVATE[prefix], private=True)
    assert key.startswith(prefix)
    result = assert_exactly_hidden(f"backup {key}", key)
    assert result.findings[0].kind == "xprv"


@pytest.mark.parametrize("prefix", sorted(EXTENDED_PUBLIC))
def test_extended_public_keys_are_kept(prefix: str) -> None:
    key = extended_key(EXTENDED_PUBLIC[prefix], private=False)
    assert key.startswith(prefix)
    text = f"my {prefix} is {key} for a watch-only wallet"
    assert guard.scan(text).redacted == text


def solana_keypair() -> bytes:
    seed = secrets.token_bytes(32)
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    return seed + public


def test_solana_base58_secret_key_is_hidden() -> None:
    key = base58.b58encode(solana_keypair()).decode()
    result = assert_exactly_hidden(f"phantom export {key}", key)
    assert result.findings[0].kind == "solana_secret"


@pytest.mark.parametrize("spacing", [",", ", ", ",\n  "])
def test_solana_json_array_is_hidden(spacing: str) -> None:
    array = "[" + spacing.join(str(b) for b in secrets.token_bytes(64)) + "]"
    result = assert_exactly_hidden(f"id.json: {array}", array)
    assert result.findings[0].kind == "solana_secret"


def test_byte_array_with_values_over_255_is_not_a_key() -> None:
    text = "[" + ",".join(["300"] + ["1"] * 63) + "]"
    assert not guard.scan(text).secret


def test_solana_address_and_signature_are_kept() -> None:
    """A 32-byte address is public; a 64-byte signature is not a keypair (Ed25519 check)."""
    address = base58.b58encode(solana_keypair()[32:]).decode()
    signature = base58.b58encode(secrets.token_bytes(64)).decode()
    text = f"address {address} signature {signature}"
    assert guard.scan(text).redacted == text
    bare = guard.scan(signature)
    assert not bare.secret


def keystore(crypto_key: str = "crypto", indent: int | None = None) -> str:
    return json.dumps(
        {
            "address": secrets.token_hex(20),
            crypto_key: {
                "cipher": "aes-128-ctr",
                "ciphertext": secrets.token_hex(32),
                "cipherparams": {"iv": secrets.token_hex(16)},
                "kdf": "scrypt",
                "kdfparams": {"dklen": 32, "n": 262144, "p": 1, "r": 8, "salt": secrets.token_hex(32)},
                "mac": secrets.token_hex(32),
            },
            "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6",
            "version": 3,
        },
        indent=indent,
    )


@pytest.mark.parametrize("crypto_key", ["crypto", "Crypto"])
@pytest.mark.parametrize("indent", [None, 2])
def test_keystore_json_is_hidden(crypto_key: str, indent: int | None) -> None:
    document = keystore(crypto_key, indent)
    result = assert_exactly_hidden(f"here is my keystore file {document} password later", document)
    assert result.findings[0].kind == "keystore_json"
    assert "[hidden: possible keystore file]" in result.redacted


def test_cut_off_keystore_is_hidden_to_the_end() -> None:
    document = keystore()[:-40]
    result = guard.scan("keystore: " + document)
    assert result.secret and "ciphertext" not in result.redacted


# --------------------------------------------------------------------------- what is kept

ORDINARY_MESSAGES = [
    "你好，我昨天充值的 USDT 还没有到账，已经过去三个小时了，请帮我查一下。",
    "提现一直显示处理中，请问大概需要多久？订单号 2026112212345678。",
    "我的工单 KF-20261122-000123 一直没有人回复。",
    "收款地址 0x52908400098527886E0F7030069857D2E4169EE7，网络选的是 ERC20。",
    "波场地址 TJRabPrwbZy45sbavfcjinPJC18kjpRTv8，比特币地址 bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq。",
    "老地址 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 还能用吗？",
    "Solana 地址 7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV 收不到空投。",
    "请问你们的官方邮箱是不是 support@lumenwallet.example？客服电话 +86 138 0013 8000。",
    "客服说永远不会索要助记词和私钥，请不要把助记词告诉任何人，包括自称客服的人。",
    "我把助记词抄在纸上了，放在家里的保险柜里，这样安全吗？",
    "我忘记了助记词的第三个词，只记得是动物，钱包里还有一些资产，怎么办？",
    "如果有人在群里说帮你恢复账户并要求你提供助记词，那一定是骗子，请立即举报。",
    "你们永远不会索要助记词对吧？有人在群里说要帮我恢复账户，还让我下载一个软件。",
    "种子短语和助记词是一个意思吗？我在设置里看到一个备份钱包的选项。",
    "我的私钥导出以后应该怎么保存？需要把它存在手机相册里吗？",
    "Hi, my deposit of 250 USDT has not arrived yet, it has been three hours.",
    "Never share your seed phrase or private key with anyone, including people who say they are support.",
    "I wrote my recovery phrase on paper and keep it in a safe. Is that enough, or should I use metal?",
    "Please check case KF-20261122-000123, order number 2026112212345678, amount 0.5 ETH.",
    "My email is alice.smith@example.com and my phone number is +1 202-555-0199.",
    "The tx hash is 0x" + "ab" * 32 + " and it shows failed on the explorer.",
    "Explorer link: https://etherscan.example/tx/0x" + "cd" * 32,
    "BTC txid " + "ef" * 32 + " has 6 confirmations.",
    "My xpub is xpub6CUGRUonZSQ4TWtTMmzXdrXDtypWKiKrhko4egpiMZbpiaQL2jkwSB1icqYh2cfDfVxdx4df189oLKnC5fSwqPfgyP3hooxujYzAu3fDVmz",
    "Download the app from the official website, then tap Settings, Security, Back up wallet and "
    "follow the steps to write down the words in order. Keep them offline and never type them into "
    "a website, a chat, a form or an email, because anyone who has them can move all your funds.",
]

LONG_ENGLISH = (
    "When you open the app for the first time you can either create a new wallet or restore one "
    "that you already have. If you choose to create a new wallet, the app will show you a list of "
    "words that you must write down on paper, in order, and keep somewhere safe. Anyone who sees "
    "those words can take everything in the wallet, so do not take a screenshot, do not store them "
    "in the cloud, and do not share them with anyone, not even with our support team. We will "
    "never ask you for them. If you lose your phone, you can install the app again on a new device "
    "and type the words to get your wallet back. Your balance and history live on the blockchain, "
    "not in the app, which is why the words are all you need. Fees depend on how busy the network "
    "is at the moment you send, and they are paid to the network, not to us. Deposits usually "
    "arrive after a few confirmations; if a deposit seems to be missing, first check that you used "
    "the right network and address, then look up the transaction hash in a block explorer and send "
    "us the hash together with the time, the amount and the coin so that we can help you quickly. "
    "Good security habits also matter: turn on two-factor authentication, keep your phone updated, "
    "and be careful with links that you receive in messages, even when they look like they come "
    "from us. Our agents work every day around the clock and will reply as soon as they can."
)

ORDINARY_CHINESE = (
    "在数字资产越来越普及的今天，越来越多的人开始使用钱包管理自己的资产。使用过程中难免会遇到各种问题，"
    "例如充值没有到账、提现一直处理中、转账手续费太高、应用打开就闪退等等。遇到这些问题时，请先在帮助中心"
    "搜索相关文章，按照步骤自行排查；如果仍然无法解决，可以联系在线客服或者提交工单。我们的客服人员全天在线，"
    "会尽快为您处理。请特别注意，任何自称官方客服并向您索要助记词私钥或验证码的人都是骗子，官方工作人员永远"
    "不会这样做。助记词是恢复钱包的唯一凭证，一旦泄露，资产就可能被转走，而且区块链上的转账无法撤回。"
    "建议您把助记词抄写在纸上并妥善保管，不要截图，不要保存在网盘或者聊天记录里，也不要告诉任何人。"
)


@pytest.mark.parametrize(
    "text", [*ORDINARY_MESSAGES, LONG_ENGLISH, ORDINARY_CHINESE, LONG_ENGLISH + ORDINARY_CHINESE]
)
def test_ordinary_support_messages_are_untouched(text: str) -> None:
    result = guard.scan(text)
    assert not result.secret, result.findings
    assert result.redacted == text


def test_ordinary_chinese_sentences_split_anyway_are_untouched() -> None:
    """Every sentence and every 30-character slice of ordinary Chinese, with context nearby."""
    for sentence in re.split("[，。；]", ORDINARY_CHINESE):
        assert not guard.scan("助记词：" + sentence).secret, sentence
    for i in range(0, len(ORDINARY_CHINESE) - 30, 7):
        assert not guard.scan("我的助记词是" + ORDINARY_CHINESE[i : i + 30]).secret


def test_redacting_twice_changes_nothing_more() -> None:
    phrase = " ".join(words("english", 24))
    text = f"seed {phrase}, key {secrets.token_hex(32)}, 助记词 {' '.join(words('chinese_simplified', 12))}"
    for language in ("en", "zh-hans", "zh-hant"):
        once = guard.redact(text, language=language)
        assert guard.redact(once, language=language) == once


# --------------------------------------------------------------------------- language


def test_placeholders_and_warnings_follow_the_language() -> None:
    phrase = " ".join(words("english", 12))
    key = "private key " + secrets.token_hex(32)
    assert guard.redact(phrase) == "[已隐藏：疑似助记词]"
    assert guard.redact(phrase, language="zh-hant") == "[已隱藏：疑似助記詞]"
    assert guard.redact(phrase, language="en-us") == SEED_PLACEHOLDER_EN
    assert guard.redact(key, language="zh-hans") == "private key [已隐藏：疑似私钥]"
    assert guard.redact(key, language="en") == "private key " + KEY_PLACEHOLDER_EN

    seed_result = guard.scan(phrase)
    key_result = guard.scan(key)
    zh = guard.warning_for(seed_result, language="zh-hans")
    en = guard.warning_for(key_result, language="en")
    assert zh is not None and "助记词" in zh and "客服" in zh and "新钱包" in zh
    assert en is not None and "private key" in en and "support" in en and "new wallet" in en
    assert guard.warning_for(guard.scan("hello there"), language="en") is None


def test_short_and_empty_texts() -> None:
    assert guard.scan("") == guard.ScanResult(secret=False, redacted="", findings=[])
    assert not guard.scan("hi").secret


# --------------------------------------------------------------------------- fields


FIELD_HEX = "9c" * 8 + "4c0883a69102937d6231471b5dbb6204fe5129617082792a"


@pytest.mark.parametrize(
    ("value", "in_tx_field", "in_text"),
    [
        (FIELD_HEX, "hidden", "hidden"),  # bare and unsettled: could be a pasted key
        ("0x" + FIELD_HEX, "kept", "kept"),
        (f"txid {FIELD_HEX}", "hidden", "kept"),  # the field says "hash" already: still bare
        (f"private key {FIELD_HEX}", "hidden", "hidden"),  # the value's own words decide
        (f"{FIELD_HEX} is my private key", "hidden", "hidden"),
        (f"0x{FIELD_HEX} 私钥", "hidden", "hidden"),
        (f"https://etherscan.io/tx/0x{FIELD_HEX}", "kept", "kept"),
    ],
)
def test_scan_field_decides_a_64_hex_by_the_fields_kind(value: str, in_tx_field: str, in_text: str) -> None:
    kinds: tuple[tuple[Literal["tx_hash", "text"], str], ...] = (("tx_hash", in_tx_field), ("text", in_text))
    for field, expected in kinds:
        result = guard.scan_field(value, field=field, language="en")
        assert (FIELD_HEX in result.redacted) == (expected == "kept"), (field, value, result.redacted)
        assert result.secret == (expected == "hidden")


def test_scan_field_settles_a_bare_64_hex_in_a_tx_hash_field_with_facts() -> None:
    found = guard.HexFacts(tx_hashes=frozenset({FIELD_HEX}))
    missing = guard.HexFacts(not_tx_hashes=frozenset({FIELD_HEX}))
    own_key = guard.HexFacts(keys=frozenset({FIELD_HEX}), tx_hashes=frozenset({FIELD_HEX}))
    assert guard.scan_field(FIELD_HEX.upper(), field="tx_hash", facts=found).redacted == FIELD_HEX.upper()
    assert not guard.scan_field(FIELD_HEX, field="text", facts=found).redacted.startswith(FIELD_HEX)
    hidden = guard.scan_field(FIELD_HEX, field="tx_hash", language="en", facts=missing)
    assert hidden.secret and hidden.unsettled_hex
    unsettled = guard.scan_field(FIELD_HEX, field="tx_hash", language="en")
    assert (guard.warning_for(unsettled, language="en") or "").startswith("We hid a 64-character hex string")
    for value in (FIELD_HEX, "0x" + FIELD_HEX, f"txid {FIELD_HEX}", f"https://etherscan.io/tx/0x{FIELD_HEX}"):
        for field in ("tx_hash", "text"):
            result = guard.scan_field(value, field=field, language="en", facts=own_key)
            assert FIELD_HEX not in result.redacted and result.leaked_key and not result.unsettled_hex
            assert (guard.warning_for(result, language="en") or "").startswith(
                "Your message seemed to contain a private key"
            )


def test_scan_field_hides_every_other_secret_in_a_tx_hash_field() -> None:
    # A fixed phrase: a random one sometimes ends in a list word that is also a key word
    # ("seed", "secret", "key"), which rightly makes the 0x value after it a possible key too.
    phrase = Mnemonic("english").to_mnemonic(bytes(range(16, 32)))
    result = guard.scan_field(f"{phrase} 0x{FIELD_HEX}", field="tx_hash", language="en")
    assert phrase not in result.redacted and FIELD_HEX in result.redacted
    assert [f.kind for f in result.findings] == ["mnemonic"]
