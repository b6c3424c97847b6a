"""What a customer message says besides its intent: its language, and the details an agent
would note (coin, network, amount, time, tx hash, address, memo, handle, email, phone).

Details come from any message, in any order, several at once. Each is checked before it is
kept: a network must be one the coin runs on (no TRC-20 for BTC), a hash or address must have
the network's format, and a time is never read out of a hash.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from kefu import script
from kefu.bot import slots as basic

# Coin → the networks Kefu's wallet supports for it; the first is the default for one-network coins.
COIN_NETWORKS: dict[str, tuple[str, ...]] = {
    "BTC": ("Bitcoin",),
    "ETH": ("ERC-20", "Arbitrum", "Optimism"),
    "USDT": ("TRC-20", "ERC-20", "BEP-20", "Solana", "Polygon", "TON"),
    "USDC": ("ERC-20", "BEP-20", "Solana", "Polygon", "Arbitrum"),
    "DAI": ("ERC-20", "BEP-20"),
    "TRX": ("TRC-20",),
    "BNB": ("BEP-20",),
    "SOL": ("Solana",),
    "XRP": ("XRP",),
    "DOGE": ("Dogecoin",),
    "LTC": ("Litecoin",),
    "TON": ("TON",),
    "EOS": ("EOS",),
    "MATIC": ("Polygon",),
    "ARB": ("Arbitrum",),
    "XLM": ("Stellar",),
    "ATOM": ("Cosmos",),
}
# Coins whose deposits share one address and need the customer's memo / tag.
MEMO_COINS = {"XRP": "tag", "EOS": "memo", "TON": "memo", "XLM": "memo", "ATOM": "memo"}
NO_0X_NETWORKS = {"Bitcoin", "Litecoin", "Dogecoin", "XRP", "Solana", "EOS", "Stellar", "Cosmos"}
EVM_NETWORKS = {"ERC-20", "BEP-20", "Polygon", "Arbitrum", "Optimism"}
_EXTRA_NETWORKS = [
    (re.compile(r"狗狗币网络|dogecoin", re.I), "Dogecoin"),
    (re.compile(r"莱特币网络|litecoin", re.I), "Litecoin"),
    (re.compile(r"(?<![a-z])xrp\s*(?:ledger|网络|network)", re.I), "XRP"),
    (re.compile(r"(?<![a-z])eos\s*(?:网络|network|主网)", re.I), "EOS"),
    (re.compile(r"(?<![a-z])sol(?![a-z])\s*(?:chain|链)?", re.I), "Solana"),
]

# --- language ------------------------------------------------------------------------------

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_MIXED_TOKEN = re.compile(r"\b(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]{6,}\b", re.A)


_opencc = script.converter  # the code base's one set of OpenCC converters


def detect_language(text: str, *, fallback: str) -> str:
    """ "zh-hant", "zh-hans" or "en" by what the customer wrote; ``fallback`` when it says
    nothing either way (a number, a hash, an emoji)."""
    # Quoted text (an app's error message, a scammer's words) is not the customer's language.
    unquoted = _QUOTES.sub(" ", text)
    han = _HAN.findall(unquoted) or ([] if unquoted.strip() else _HAN.findall(text))
    # Addresses, order numbers and other codes mix letters and digits: they are no language.
    plain = _MIXED_TOKEN.sub(" ", basic.TX_HASH.sub(" ", unquoted))
    words = [w for w in _LATIN_WORD.findall(plain) if not _is_code(w)]
    if han and len(words) >= 3 and len(han) < 1.5 * len(words):
        return "en"  # "My 提币 is stuck": English with a Chinese word
    if han:
        chars = "".join(han)
        # Traditional if converting to simplified changes a character (帳, 幣, 嗎 ...).
        if _opencc("t2s").convert(chars) != chars:
            return "zh-hant"
        # Characters both scripts share ("好的", "是"): a traditional writer stays traditional.
        if fallback == "zh-hant" and _opencc("s2tw").convert(chars) == chars:
            return "zh-hant"
        return "zh-hans"
    if words:
        return "en"
    return fallback


# Browser language tags that mean traditional characters (Django's LANGUAGES has one Chinese,
# zh-hans, so get_language() cannot tell a zh-TW browser from a zh-CN one).
_HANT_TAG = re.compile(r"^zh[-_](?:hant|tw|hk|mo)\b", re.I)


def browser_language(accept_language: str, *, default: str) -> str:
    """The reply language before the customer has written anything script-specific: "zh-hant"
    when the browser's first Chinese or English preference is traditional Chinese, else ``default``."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _sep, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag.lower().startswith(("zh", "en")):
            ranked.append((-quality, position, tag))
    if ranked and _HANT_TAG.match(min(ranked)[2]):
        return "zh-hant"
    return default


_QUOTES = re.compile(r"“[^”]*”|「[^」]*」|『[^』]*』|\"[^\"]*\"")
_CODES = re.compile(
    r"^(?:usdt|usdc|btc|eth|trx|bnb|sol|xrp|xlm|atom|eos|ton|doge|ltc|trc\d*|erc\d*|bep\d*|ok|kyc|id)$", re.I
)


def _is_code(word: str) -> bool:
    return bool(_CODES.match(word))


_LINK = re.compile(r"(?:https?://|/help/)\S+")


# Words that OpenCC's Taiwan phrases turn into another meaning: 注销 (close an account) would
# become 登出 (sign out). They are converted character by character instead.
# Words the Taiwan-phrase conversion gets wrong for this domain: 审核 → 稽核 (an audit), 通过 →
# 透過 ("via", where "passed" is meant), 上链 → 上鍊 (a chain of a necklace).
_LITERAL = {"注销": "註銷", "注銷": "註銷", "审核": "審核", "通过": "通過", "上链": "上鏈"}
_LITERAL_WORDS = re.compile("|".join(map(re.escape, _LITERAL)))


def _s2twp(text: str) -> str:
    parts, last = [], 0
    for match in _LITERAL_WORDS.finditer(text):
        parts += [_opencc("s2twp").convert(text[last : match.start()]), _LITERAL[match.group(0)]]
        last = match.end()
    parts.append(_opencc("s2twp").convert(text[last:]))
    return "".join(parts)


def to_traditional(text: str) -> str:
    """Simplified → traditional (Taiwan wording), for customers who write traditional. Links
    are left as they are: a section anchor is the simplified heading."""
    parts, last = [], 0
    for match in _LINK.finditer(text):
        parts += [_s2twp(text[last : match.start()]), match.group(0)]
        last = match.end()
    parts.append(_s2twp(text[last:]))
    return "".join(parts)


# --- numbers ---------------------------------------------------------------------------------

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000, "萬": 10000}
CN_NUMBER = r"[零〇一二两兩三四五六七八九十百千万萬]+"


def cn_to_number(text: str) -> Decimal | None:
    """五百 → 500, 两千五 → 2500, 一万二千 → 12000, 十 → 10."""
    total, section, digit = 0, 0, None
    last_unit = 1
    for char in text:
        if char in _CN_DIGITS:
            digit = _CN_DIGITS[char]
        elif char in ("万", "萬"):
            total = (total + section + (digit or 0)) * 10000
            section, digit, last_unit = 0, None, 10000
        elif char in _CN_UNITS:
            unit = _CN_UNITS[char]
            section += (1 if digit is None else digit) * unit
            digit, last_unit = None, unit
        else:
            return None
    if digit is not None:
        # 两千五 = 2500: a trailing digit is one unit below the last one.
        section += digit * (last_unit // 10 if last_unit >= 100 and len(text) > 1 else 1)
    value = total + section
    return Decimal(value) if value else None


def _number(raw: str, unit: str = "") -> Decimal | None:
    raw = raw.strip()
    try:
        value = Decimal(raw.replace(",", "")) if re.match(r"^\d", raw) else cn_to_number(raw)
    except InvalidOperation:
        return None
    if value is None:
        return None
    factor = {"k": 1000, "K": 1000, "千": 1000, "w": 10000, "W": 10000, "万": 10000, "萬": 10000}.get(unit, 1)
    return value * factor


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


# --- patterns ---------------------------------------------------------------------------------

_EVM_HASH = re.compile(r"(?<![0-9a-zA-Z])0x[0-9a-fA-F]{64}(?![0-9a-zA-Z])")
_BARE_HASH = re.compile(r"(?<![0-9a-zA-Z])[0-9a-fA-F]{64}(?![0-9a-zA-Z])")
# One digit too many or too few: a hash mistyped or cut while copying, still meant as one.
_NEAR_HASH = re.compile(r"(?<![0-9a-zA-Z])0x[0-9a-fA-F]{60,63}(?![0-9a-zA-Z])|(?<![0-9a-zA-Z])0x[0-9a-fA-F]{65,68}(?![0-9a-zA-Z])")
_EVM_ADDRESS = re.compile(r"(?<![0-9a-zA-Z])0x[0-9a-fA-F]{40}(?![0-9a-zA-Z])")
_TRON_ADDRESS = re.compile(r"(?<![0-9a-zA-Z])T[1-9A-HJ-NP-Za-km-z]{33}(?![0-9a-zA-Z])")
_BTC_ADDRESS = re.compile(
    r"(?<![0-9a-zA-Z])(?:bc1[02-9ac-hj-np-z]{11,71}|[13][1-9A-HJ-NP-Za-km-z]{25,34})(?![0-9a-zA-Z])"
)
_XRP_ADDRESS = re.compile(r"(?<![0-9a-zA-Z])r[1-9A-HJ-NP-Za-km-z]{24,34}(?![0-9a-zA-Z])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_HANDLE = re.compile(r"(?<![\w@.])@([A-Za-z][A-Za-z0-9_]{3,31})\b")
_PHONE = re.compile(r"(?<![\w])\+?\d[\d\s-]{7,16}\d(?![\w])")
_URL = re.compile(
    r"https?://\S+|(?<![\w@])(?:[a-z0-9-]+\.)+(?:com|net|org|io|app|xyz|top|cc|me|co)(?:/\S*)?", re.I
)

_COIN_UNIT = (
    r"(?:usdt|usdc|btc|eth|trx|bnb|sol|xrp|xlm|atom|doge|ltc|ton|eos|matic|arb|dai|(?:(?-i:U)|u(?!\s*[a-z]))(?![a-z])|个(?!小时|小時|月|星期|礼拜|禮拜|钟|鐘|工作日|人|多小时)"
    r"|個(?!小時|月|星期|禮拜|鐘|工作日|人)|枚|块|塊|刀|美金|美元|dollars?|bucks|coins?)"
)
_AMOUNT_WORDS = r"(?:金额|金額|数量|數量|数额|數額|amount|充了|充值了|提了|提现了|提幣了|提币了|转了|轉了|打了|sent|deposited|withdrew|withdrawing|transferred|of)"
_NUM = rf"(\d+(?:[.,]\d+)?|{CN_NUMBER})\s*([kKwW千万萬](?![a-zA-Z]))?"
_AMOUNT_UNIT = re.compile(rf"(?<![0-9A-Za-z.]){_NUM}\s*{_COIN_UNIT}", re.I)
_AMOUNT_KEYWORD = re.compile(
    rf"{_AMOUNT_WORDS}\s*[:：是为為]?\s*(?:约|大约|大概|about|around)?\s*{_NUM}(?![\d.])", re.I
)
_AMOUNT_DOLLAR = re.compile(r"(?:\$|usd\s*)(\d+(?:[.,]\d+)?)()", re.I)
_AMOUNT_MULTIPLIER = re.compile(r"(?<![0-9A-Za-z.])(\d+(?:\.\d+)?)\s*([kKwW万萬])(?![a-zA-Z\d])")
_LONE_NUMBER = re.compile(r"(?<![0-9A-Za-z.:：])(\d+(?:\.\d+)?)(?![0-9A-Za-z.:：%])")

_DAY = r"(?:今天|今日|昨天|昨日|前天|今早|今晚|昨晚|明天|上周[一二三四五六日天]?|周[一二三四五六日天]|星期[一二三四五六日天])"
_PART = r"(?:早上|上午|中午|下午|傍晚|晚上|夜里|夜裡|半夜|凌晨|早晨)"
_CLOCK = rf"(?:(?:\d{{1,2}}|{CN_NUMBER})\s*[点點时時](?:\s*(?:\d{{1,2}}|{CN_NUMBER})\s*分?|半|钟|鐘)?|\d{{1,2}}[:：]\d{{2}})"
_ZH_ABSOLUTE = re.compile(rf"{_DAY}\s*{_PART}?\s*(?:{_CLOCK})?|{_PART}\s*{_CLOCK}|{_CLOCK}")
_ZH_RELATIVE = re.compile(
    rf"(?:\d+(?:\.\d+)?|{CN_NUMBER}|半|几|幾|一)\s*(?:个|個)?\s*(?:多)?\s*(?:分钟|分鐘|小时|小時|钟头|鐘頭|天|日|周|星期|礼拜|禮拜|月)(?:\s*(?:多|了|前|以前|之前))*"
    r"|刚才|刚刚|剛才|剛剛|刚|半天"
)
_EN_TIME = re.compile(
    r"(?:(?:about|around|roughly|over|more than|almost)\s+)?(?:\d+(?:\.\d+)?|an?|one|two|three|four|five|six|ten|twelve|half an?|a couple of|few)\s+"
    r"(?:min(?:ute)?s?|hours?|hrs?|days?|weeks?)(?:\s+ago)?"
    r"|(?:yesterday|today)(?:\s+(?:night|morning|afternoon|evening))?(?:\s+(?:at\s+)?\d{1,2}(?::\d{2})?\s*(?:am|pm)?)?"
    r"|(?:last|this)\s+(?:night|morning|afternoon|evening|week|weekend|monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"|tonight|just now|\d{1,2}(?::\d{2})?\s*(?:am|pm)|\d{1,2}:\d{2}|since (?:yesterday|this morning|last night|monday|tuesday|wednesday|thursday|friday|saturday|sunday)",
    re.I,
)
_DATE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:\s+\d{1,2}:\d{2})?|\d{1,2}月\d{1,2}[日号號](?:\s*\d{1,2}[:点點]\d{0,2})?"
)
_MEMO = re.compile(
    r"(?:memo|tag|destination tag|标签|標籤|备注|備註|memo\s*/\s*tag)\s*(?:is|是|为|為|:|：|#)?\s*([A-Za-z0-9]{1,40})(?![\w])",
    re.I,
)
# "标签填了 123456", "tag was 384721"
_MEMO_AFTER = re.compile(
    r"(?:memo|tag|标签|標籤|备注|備註)\s*(?:填了|填的|填的是|写了|寫了|was|is)\s*[:：]?\s*([A-Za-z0-9]{1,40})(?![\w])",
    re.I,
)
_MEMO_PUT = re.compile(
    r"(?:did|have|'ve|already)\s+(?:put|add|include|enter|fill|filled|added|included|entered)\w*\s+(?:in\s+)?(?:the\s+|a\s+)?(?:memo|tag)"
    r"|(?:填了|填過|填过|有填|写了|寫了|加了|带了|帶了)\s*(?:memo|tag|标签|標籤|备注|備註)",
    re.I,
)
_MEMO_MISSING = re.compile(
    r"(?:忘(?:记|記|了)?(?:填|写|寫|加|带|帶)?|没(?:有)?(?:填|写|加|带)|沒(?:有)?(?:填|寫|加|帶)|漏(?:填|写|寫)?)\s*(?:了)?\s*(?:memo|tag|标签|標籤|备注|備註)"
    r"|(?:forgot|forget|didn'?t (?:put|add|include|enter)|without|no|missing)\s+(?:the\s+|a\s+)?(?:memo|tag)",
    re.I,
)

# The message an app showed: quoted, or after 提示/显示/报错/error/says.
_ERROR_TEXT = re.compile(
    r"(?:提示|显示|顯示|报错|報錯|错误|錯誤|error|says|said|shows|message)\s*(?:是|說|说)?\s*[:：]?\s*"
    r"[\"“「『']([^\"”」』'\n]{2,120})[\"”」』']"
    r"|(?:报错|報錯|错误提示|錯誤提示|error)\s*[:：]\s*([^\n。]{2,120})",
    re.I,
)


# With a memo coin, "I forgot to fill it in" is about the memo.
_FORGOT = re.compile(r"忘(?:记|記|了)+(?:填|写|寫|加)|没填|沒填|漏填|forgot to (?:put|add|fill|enter)", re.I)


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def find_txid(text: str, *, network: str = "") -> tuple[str | None, str | None]:
    """(hash, problem): a 0x hash on a network that has none (TRON, Bitcoin) is a problem."""
    match = _EVM_HASH.search(text)
    if match:
        value = match.group(0)
        # Bitcoin-style chains never write 0x; TRON hashes are often copied with it from EVM tools.
        if network in NO_0X_NETWORKS:
            return value, "format"
        return value, None
    match = _BARE_HASH.search(text)
    if match:
        return match.group(0), None
    match = _NEAR_HASH.search(text)
    if match:
        return match.group(0), "length"
    return None, None


def find_address(text: str, *, network: str = "") -> str | None:
    for pattern, networks in (
        (_EVM_ADDRESS, EVM_NETWORKS),
        (_TRON_ADDRESS, {"TRC-20"}),
        (_BTC_ADDRESS, {"Bitcoin"}),
        (_XRP_ADDRESS, {"XRP"}),
    ):
        match = pattern.search(text)
        if match and (not network or network in networks):
            return match.group(0)
    return None


# "1.5w U", "五百U", "200u", "500 u.": U after an amount (a lower-case "u" before a word is "you": "5 u know").
_U_AMOUNT = re.compile(
    rf"(?<![0-9A-Za-z.])(?:\d+(?:[.,]\d+)?|{CN_NUMBER})\s*(?:[kKwW千万萬](?![a-zA-Z]))?(?:\s*U|\s*u(?!\s*[A-Za-z]))(?![A-Za-z])"
)
_CLASSIFIER_END = re.compile(r"(?:个|個|枚|块|塊)$")


def _unit_matches(text: str) -> list[re.Match[str]]:
    """Number + unit matches, a coin's own unit first: in "另外一个平台的0.5 ETH" the amount is
    0.5 ETH, not "一个" (one platform). A classifier before a noun ("一个平台") is no amount."""
    coins, classifiers = [], []
    for match in _AMOUNT_UNIT.finditer(text):
        if _CLASSIFIER_END.search(match.group(0)):
            after = text[match.end() : match.end() + 1]
            if match.group(1) in ("一", "两", "兩", "几", "幾") and after and _HAN.match(after):
                continue
            classifiers.append(match)
        else:
            coins.append(match)
    return coins + classifiers


def find_amount(text: str, *, loose: bool = False) -> str | None:
    for pattern in (_AMOUNT_UNIT, _AMOUNT_KEYWORD, _AMOUNT_DOLLAR, _AMOUNT_MULTIPLIER):
        matches = _unit_matches(text) if pattern is _AMOUNT_UNIT else pattern.finditer(text)
        for match in matches:
            value = _number(match.group(1), match.group(2) or "")
            if value is not None and value > 0:
                return _fmt(value)
    if loose:
        numbers = _LONE_NUMBER.findall(text)
        if len(numbers) == 1:
            value = _number(numbers[0])
            if value is not None and value > 0:
                return _fmt(value)
        cn = re.fullmatch(rf"\s*({CN_NUMBER})\s*", text)
        if cn and (value := cn_to_number(cn.group(1))):
            return _fmt(value)
    return None


# What may join two time expressions into one ("2pm today", "today at 2pm", "昨天 晚上十点").
_TIME_JOIN = re.compile(r"^(?:\s*|\s*(?:at|on|,)\s*)$", re.I)


def _time_spans(text: str) -> list[tuple[int, int]]:
    """Every time expression's span, with neighbours that say one time merged ("2pm today")."""
    spans = sorted(
        (m.start(), m.end())
        for pattern in (_DATE, _ZH_ABSOLUTE, _ZH_RELATIVE, _EN_TIME)
        for m in pattern.finditer(text)
        if m.group(0).strip()
    )
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and (start <= merged[-1][1] or _TIME_JOIN.match(text[merged[-1][1] : start])):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def find_time(text: str) -> str | None:
    """The longest time expression, kept whole ("今天上午10点", "3个小时前", "yesterday night",
    "2pm today")."""
    spans = _time_spans(text)
    if not spans:
        return None
    start, end = max(spans, key=lambda span: span[1] - span[0])
    return text[start:end].strip()


def find_coin(text: str) -> str | None:
    return basic.find_coin(text)


def find_network(text: str, *, coin: str | None) -> str | None:
    found = basic.find_network(text)
    if found is None:
        for pattern, name in _EXTRA_NETWORKS:
            if pattern.search(text):
                found = name
                break
    if found and coin in COIN_NETWORKS and found not in COIN_NETWORKS[coin]:
        # "SOL" as a coin is not a network claim; a network the coin does not run on is
        # not taken (the customer may be confused; we never file it as their network).
        return None
    return found


def extract(text: str, *, known: dict[str, str] | None = None, asking: str | None = None) -> dict[str, str]:
    """Every detail in ``text`` (internal slot names: tx_hash for the hash). ``known`` are the
    details already collected (the coin decides which networks and formats are valid);
    ``asking`` is the detail just asked for, read more leniently."""
    known = known or {}
    found: dict[str, str] = {}
    # Hashes, addresses, e-mails and URLs first, then blanked out: their digits are no amount or time.
    coin = find_coin(_blank(_blank(text, _EVM_HASH), _BARE_HASH)) or known.get("coin")
    network = find_network(_blank(text, _BARE_HASH), coin=coin) or known.get("network", "")
    if coin and not network and coin in COIN_NETWORKS and len(COIN_NETWORKS[coin]) == 1:
        network = COIN_NETWORKS[coin][0]
    txid, problem = find_txid(text, network=network)
    if txid:
        found["tx_hash"] = txid
        if problem:
            found["tx_hash_problem"] = problem
    rest = _blank(_blank(_blank(text, _EVM_HASH), _BARE_HASH), _NEAR_HASH)
    address = find_address(rest, network=network)
    if address:
        found["address"] = address
        rest = rest.replace(address, " " * len(address))
    for pattern, slot in ((_EMAIL, "email"), (_URL, "url")):
        match = pattern.search(rest)
        if match:
            found[slot] = match.group(0)
            rest = _blank(rest, pattern)
    handle = _HANDLE.search(text)
    if handle:
        found["handle"] = "@" + handle.group(1)
        rest = _blank(rest, _HANDLE)
    if c := find_coin(rest):
        found["coin"] = c
    elif not known.get("coin") and _U_AMOUNT.search(rest):
        found["coin"] = "USDT"  # "1.5w U", "五百U": U after an amount is USDT
    if n := find_network(rest, coin=found.get("coin") or known.get("coin")):
        found["network"] = n
    elif "coin" in found and found["coin"] in COIN_NETWORKS and len(COIN_NETWORKS[found["coin"]]) == 1:
        found["network"] = COIN_NETWORKS[found["coin"]][0]
    memo_coin = (found.get("coin") or known.get("coin") or "") in MEMO_COINS
    if _MEMO_MISSING.search(rest) or (memo_coin and _FORGOT.search(rest)):
        found["memo"] = "missing"
    elif memo := (_MEMO.search(rest) or _MEMO_AFTER.search(rest)):
        found["memo"] = memo.group(1)
    elif _MEMO_PUT.search(rest):
        found["memo"] = "provided"
    error = _ERROR_TEXT.search(rest)
    if error:
        found["error"] = (error.group(1) or error.group(2)).strip()[:300]
    when = find_time(rest)
    if when:
        found["time"] = when
        # Every time expression goes, not only the one kept: "2" of "2pm" is no amount.
        for start, end in _time_spans(rest):
            rest = rest[:start] + " " * (end - start) + rest[end:]
    phone = _PHONE.search(rest)
    if phone and len(re.sub(r"\D", "", phone.group(0))) >= 8 and not find_amount(phone.group(0)):
        found["phone"] = phone.group(0).strip()
        rest = rest.replace(phone.group(0), " ")
    # A lone number beside a coin ("USDT on TRC20, 100") is its amount.
    amount = find_amount(rest, loose=asking == "amount" or bool(found.get("coin")))
    if amount:
        found["amount"] = amount
    if asking == "time" and "time" not in found:
        stripped = text.strip()
        if (
            stripped
            and not basic.SKIP_WORDS.match(stripped)
            and len(stripped) <= 30
            and not txid
            and _TIME_CUE.search(stripped)
            and not _ASKS_BACK.search(stripped)
        ):
            found["time"] = stripped
    return found


# Asked for the time, an answer the patterns missed is kept as said only when it speaks of a
# time ("上个月底", "right after lunch"); "顺便问下 没实名能提现吗" is a new question, not a time.
_TIME_CUE = re.compile(
    r"\d|[前后後早晚午点點昨今明天周週月号號刚剛凌晨夜]|小时|小時|分钟|分鐘|之前|左右|不久|半天"
    r"|\b(?:ago|yesterday|today|tonight|morning|afternoon|evening|night|noon|hour|hours|min|mins|minutes?"
    r"|am|pm|week|month|last|earlier|just now|before|after|since|around|about|lunch|dinner|breakfast|weekend|mon|tue|wed|thu|fri|sat|sun)\w*\b",
    re.I,
)
_ASKS_BACK = re.compile(r"[?？吗嗎]|\b(?:how|what|can i|do i|is it|why)\b|怎么|怎麼|能不能|可以吗|可以嗎", re.I)


# Internal name → the dialogue format's / facts' name.
PUBLIC = {"tx_hash": "txid"}


def public(slots: dict[str, str]) -> dict[str, str]:
    return {PUBLIC.get(k, k): v for k, v in slots.items() if not k.endswith("_problem")}
