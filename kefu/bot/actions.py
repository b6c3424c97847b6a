"""The bot's dialogue: understand, answer from articles, guide, and hand over to a human.

One call per customer message (``do_handle_message``). The dialogue state lives on the
conversation row, so any server process can continue any conversation.
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import override

from kefu.accounts.models import User
from kefu.bot import flows, slots, understand
from kefu.bot.engine.normalize import fold_cantonese
from kefu.bot.intents import INTENT_LABELS, OUT_OF_SCOPE, SMALLTALK, URGENT_INTENTS
from kefu.bot.models import BotConversation, ConversationStatus
from kefu.tickets import stages, thread
from kefu.tickets.models import Channel, Sender, Ticket
from kefu.trust import guard

MAX_TEXT = 2000
# Two intents closer than this (and neither confident) → ask which one the customer means.
CLARIFY_MARGIN = 0.12
CLARIFY_CEILING = 0.55
# Below this the intent model has no reading of its own: a message continues the topic when the
# topic is among its readings.
VAGUE_CONFIDENCE = 0.4
FAILURES_BEFORE_HANDOFF = 2
# An answer scoring below answers.MIN_SCORE is still used from an article tagged with the intent.
RELATED_MIN_SCORE = 0.3
# Internal slot names → the names of the API's ``asking`` field (the dialogue format's).
PUBLIC_SLOT = {"tx_hash": "txid"}

_HUMAN = re.compile(
    r"转人工|轉人工|人工客服|人工服务|人工服務|找人工|要人工|人工\s*$|真人|客服小姐姐|human|real person|live agent"
    r"|talk to (an )?agent|人工介入|人工处理|人工處理|找真人"
    r"|(?:找|来|來|换|換|叫)(?:一)?(?:个|個)(?:真)?人(?![民名物家生])"
    r"|(?:speak|talk|chat) (?:to|with) (?:a |an )?(?:agent|human|person|someone|staff|support staff)"
    r"|(?:get|want|need) (?:a |an )?(?:human|real agent|real person|person to help)"
    r"|^\s*(?:an? )?agent(?: please| pls)?\s*[.!?]*\s*$|\brepresentative\b|\boperator\b",
    re.I,
)
# "Are you a bot?" / "你是真人还是机器人" asks what the bot is; it is not a request for a human
# (what is left of the message once this is taken out may still be one: "你是机器人吗？我要真人").
_BOT_QUESTION = re.compile(
    r"(?:你|您)(?:是|是不是)(?:真人|人工|机器人|機器人|ai|AI|人)(?:吗|嗎|么|麼|还是|還是)?(?:真人|人工|机器人|機器人|ai|AI)?"
    r"|是不是(?:真人|机器人|機器人)|真人(?:还是|還是)(?:机器人|機器人|ai)"
    r"|(?:are|r) (?:you|u) (?:a |an )?(?:real )?(?:bot|robot|human|person|ai|machine)(?: or (?:a |an )?(?:real )?\w+)?"
    r"|is (?:this|it) (?:a |an )?(?:real )?(?:bot|robot|human|person|ai)(?: or (?:a |an )?\w+)?",
    re.I,
)
# "Can you speak Chinese?": a question about the bot's languages, not a request for a human.
_LANGUAGE_QUESTION = re.compile(
    r"(?:can|do|could) (?:you|u) (?:speak|understand|talk|write|reply|answer)(?: in)? "
    r"(?:chinese|english|mandarin|cantonese)"
    r"|(?:你|您)?(?:会|會|能)(?:说|說|讲|講|用)?(?:英文|英语|英語|中文|普通话|普通話|繁体|繁體)(?:吗|嗎|么|麼)",
    re.I,
)
# What scammers say, reported by the customer: someone else's claim or demand ("有人说…要先付费").
_SCAM_CUE = re.compile(
    r"解冻费|解凍費|保证金|保證金|安全账户|安全帳戶|涉嫌洗钱|涉嫌洗錢|先(?:付|交|转|轉)|"
    r"有人(?:说|說|自称|自稱|打电话|打電話)|是真的(?:吗|嗎)|是不是真的|靠谱吗|靠譜嗎"
    r"|someone (?:says|said|claims|claimed|called|messaged)|unfreez\w* fee|safe account"
    r"|is (?:this|it|that|he|she|they) (?:real|legit|genuine)",
    re.I,
)
# Hand-off policy (docs/bot-engine.md, "Conversations"): escalation, anger, urgent security.
_ESCALATE = re.compile(
    r"要求升级|申请升级|升级处理|升級處理|要求升級|找(?:你们|你們)?(?:的)?(?:主管|经理|經理|领导|領導|负责人|負責人|上级|上級)"
    r"|投诉你们|投訴你們|escalat|supervisor|\bmanager\b|third time|3rd time|第三次|问了三次|問了三次|说了三次|說了三次",
    re.I,
)
_ANGRY = re.compile(
    r"太差|垃圾|烂客服|爛客服|什么破|什麼破|怎么搞的|怎麼搞的|没人管|沒人管|坑人|气死|氣死|骗子平台|騙子平台"
    r"|受够了|受夠了|忍无可忍|忍無可忍|没人回|沒人回|没人理|沒人理|无人回复|無人回覆|太过分|太過分|离谱|離譜|耍我"
    r"|效率(?:也)?太低|差劲|差勁|态度(?:太|很)?差|態度(?:太|很)?差|什么玩意|什麼玩意"
    r"|useless|terrible|ridiculous|worst|pathetic|\bwtf\b|fuck|shit|unacceptable|fed up|!!!|！！！"
    r"|(?:this is|what) a joke|\bjoke of a\b|(?:nobody|no one|no-one) (?:answers|replies|responds|helps|cares)"
    r"|\bfurious\b|so angry|\bdisgusted\b|sick of|tired of waiting|\bawful\b|\bhorrible\b|\bincompetent\b"
    r"|\bdisgrace",
    re.I,
)
# What English speakers call the seed ("I gave him my 12 words").
_SEED_NAMES = (
    r"(?:seed|recovery phrase|secret phrase|backup phrase|private key|mnemonic"
    r"|(?:12|24|twelve|twenty[- ]four) (?:secret |recovery )?words)"
)
_SEED_LEAKED = re.compile(
    r"(?:助记词|助記詞|私钥|私鑰)[^。.!?！？]{0,20}(?:给了|給了|给过|給過|发给|發給|告诉|告訴|泄露|洩露|被盗|被盜|被人拿)"
    r"|(?:给|給|发|發|告诉|告訴)(?:了|过|過)?[^。.!?！？，,]{0,12}(?:助记词|助記詞|私钥|私鑰)"
    rf"|(?:gave|shared|sent|told|typed|entered|showed|read out)\s+(?:\w+\s+){{0,5}}{_SEED_NAMES}"
    rf"|{_SEED_NAMES}\s+(?:\w+\s+){{0,3}}(?:leaked|stolen|exposed|compromised)"
    # "让我把助记词填到一个网站上…我填了": the seed was typed somewhere, and it is done.
    r"|(?:助记词|助記詞|私钥|私鑰)[^。.!?！？]{0,40}?(?:已经|已經|我)?"
    r"(?:填|输入|輸入|提交|交出|导入|導入|贴|貼|拍照发|拍照發)(?:了|过|過|进去了|進去了)",
    re.I,
)
# Someone (often "support" calling from a number that looks official) wants the one-time code
# or the password: never give it. Asking how codes arrive is otp_problem, not this.
_CODE_REQUESTED = re.compile(
    r"(?:ask(?:ing|ed|s)?|want(?:s|ed)?|request(?:ing|ed|s)?|need(?:s|ed)?)\s+(?:me\s+)?(?:for\s+)?"
    r"(?:to\s+(?:read|give|send|tell|share)\s+(?:out\s+)?(?:them\s+)?)?(?:the|my|a|that)?\s*"
    r"(?:\d[\s-]?digit\s+)?(?:sms\s+|text\s+|verification\s+|2fa\s+|otp\s+|security\s+|login\s+)?(?:code|otp|password)"
    r"|(?:让|讓|要|叫|问|問)我(?:提供|说|說|报|報|念|读|讀|发|發|告诉|告訴|给|給)(?:一下)?(?:他|他们|他們|对方|對方)?"
    r"(?:手机|手機)?(?:上)?(?:收到的)?(?:的)?(?:验证码|驗證碼|短信码|短信碼|密码|密碼)"
    r"|(?:索要|问我要|問我要|跟我要|向我要)(?:我的)?(?:验证码|驗證碼|密码|密碼)",
    re.I,
)
# "Stop it!" about a withdrawal that went to the wrong address: only a human can try.
_STOP_WITHDRAWAL = re.compile(
    r"\b(?:stop|cancel|halt|block|recall|reverse)\s+(?:it|this|that|the (?:withdrawal|transfer|transaction)|my (?:withdrawal|transfer))"
    r"|撤回|撤销提现|撤銷提現|取消提现|取消提現|拦截|攔截|追回提现|追回提現|能不能停|能不能取消",
    re.I,
)
_HOW_MUCH = re.compile(r"多少|几个|幾個|how much|what(?:'s| is) the (?:fee|cost)|cost", re.I)
_WALLET_WORDS = re.compile(r"钱包|錢包|wallet|资产|資產|币|幣|coins?|funds", re.I)
# A token approval given to a DApp or contract ("授权之后币全被转走").
_APPROVAL = re.compile(r"授权|授權|\bapprov(?:e|ed|al)\b|\bpermit\b|\bdapp\b|合约|合約|智能合约", re.I)
_DRAINED = re.compile(
    r"转走|轉走|转光|轉光|转空|轉空|被转|被轉|被盗|被盜|清空|没了|沒了|不见了|不見了"
    r"|\bdrained\b|\bemptied\b|\bstolen\b|\bswept\b|\ball (?:my |of my )?\w+ (?:are |is |got )?gone\b",
    re.I,
)
# "对方让我下载一个app": an app the scammer wants on the customer's phone; then "我已经下了".
_APP_FROM_THEM = re.compile(
    r"(?:下载|下載|安装|安裝)(?:了)?(?:一个|一個|个|個)?[^。，,.!?！？]{0,8}(?:app|软件|軟件|軟體|应用|應用|apk)"
    r"|\b(?:download|install)(?:ed)? (?:an?|their|this|that|the|some) (?:\w+ )?(?:app|apk|software|application)",
    re.I,
)
_INSTALLED = re.compile(
    r"下了|下好了|下载了|下載了|装了|裝了|安装了|安裝了|已经下|已經下|已经装|已經裝"
    r"|\b(?:installed|downloaded)\b|\bi did\b|\bgot it on my phone\b",
    re.I,
)
_NOT_OPENED = re.compile(r"没打开|沒打開|没开|沒開|还没打开|還沒打開|没点开|沒點開|haven'?t opened|didn'?t open|not opened|not open(?:ed)? it", re.I)
# Where a seed phrase must never be kept: a picture of it, anything synced, a mailbox or a chat.
_STORED_ONLINE = re.compile(
    r"截图|截圖|截屏|拍照|照片|相册|相簿|云同步|雲同步|同步|云盘|雲端|云端|网盘|網盤|备忘录|備忘錄|邮箱草稿|郵箱草稿|微信收藏"
    r"|screenshot|photo|picture|camera roll|gallery|icloud|google drive|cloud|synced|notes app|\bnotes\b|email draft",
    re.I,
)
# It is done already ("我截图了", "I saved a photo"), not asked about ("should I screenshot it?").
_ALREADY_DONE = re.compile(
    r"了|过|過|已经|已經|存在|存着|存著|\b(?:took|saved|stored|kept|uploaded|synced|backed up|emailed)\b"
    r"|\bit'?s in\b|\bthey'?re in\b|\bis in my\b|\bare in my\b",
    re.I,
)
# "Do I need to do anything?": what the customer's records say (credited automatically…) answers it.
_ANYTHING_TO_DO = re.compile(
    r"(?:do|should|must) i (?:need to |have to )?do anything|anything (?:i need|for me) to do|need to do anything"
    r"|what (?:do|should) i do now|(?:需要|要|用不用)(?:我)?(?:做|操作)(?:什么|什麼|些什么|些什麼|吗|嗎)",
    re.I,
)
# "Is my money safe?", "did I lose it?": a worry about the funds themselves.
_SAFE_WORRY = re.compile(
    r"\bsafe\b|\blost\b|\bgone\b|\blose\b|安全|丢|丟|没了|沒了|不见|不見", re.I
)
# "Can I cancel it?" asks whether the customer can (under review: yes, themselves); "stop it!" asks
# us to act. Only the second is urgent.
_CANCEL = re.compile(r"撤销|撤銷|撤回|取消|\bcancel|\bundo\b|\brevoke the withdrawal", re.I)
_CAN_I = re.compile(r"(?:可以|能|能不能|可不可以|可否)(?:先|自己|马上|馬上)?(?:撤|取消)|[吗嗎]\s*[?？]?\s*$|\bcan i\b|\bis it possible\b|\bcould i\b", re.I)
# "Sent … out to my account on another exchange" / "提到另外一个平台": the coins left us, so
# however the message reads (a memo forgotten, "not credited"), it is about a withdrawal.
_OUTBOUND = re.compile(
    r"\b(?:sent|withdrew|withdrawn|transferred|moved)\b[^.!?]{0,40}?\b(?:out\b|to (?:my |an? |the )?"
    r"(?:account on |wallet on )?(?:another|other|a different|an external|external)\b)"
    r"|(?:提|转|轉|打)(?:币|幣|现|現|出)?(?:了)?(?:到|去|给|給)(?:了)?(?:另外|另一|别的|別的|其他|外部|对方|對方)",
    re.I,
)
_INBOUND = re.compile(r"到(?:你们|你們|这里|這裡|这边|這邊|我的账户|我的帳戶)|(?:in)?to (?:you|your|kefu|lumen)", re.I)
# The withdrawal is done on-chain ("your side says completed", "显示已完成"): nothing can stop it.
_SENT_DONE = re.compile(
    r"\bcompleted?\b|\bsuccess(?:ful)?\b|已完成|显示完成|顯示完成|显示成功|顯示成功|(?:提现|提現|提币|提幣)成功"
    r"|链上(?:已)?(?:成功|确认)|鏈上(?:已)?(?:成功|確認)",
    re.I,
)
# Sign-in details typed into a phishing page: the password (and codes) are the scammer's now.
_PHISHED = re.compile(
    r"(?:钓鱼|釣魚|假网站|假網站|假的网站|仿冒|山寨|可疑链接|可疑鏈接|phishing|fake (?:site|website|page|app|link))"
    r".{0,30}(?:输入|輸入|填了|填写|填寫|登录|登錄|登入|entered|typed|logged in|signed in|put in|gave)"
    r"|(?:输入|輸入|填了|填写|填寫|entered|typed|logged in|signed in|put)\b.{0,30}"
    r"(?:钓鱼|釣魚|假网站|假網站|仿冒|phishing|fake (?:site|website|page|app|link))",
    re.I,
)
_IMPOSTOR = re.compile(r"冒充|假冒|假客服|骗|騙|scam|fake|impersonat|pretend", re.I)
_HASH_WORDS = re.compile(r"哈希|雜湊|交易id|交易號|交易号|交易编号|交易編號|\btx ?id\b|\b(?:tx|transaction) hash\b|\bhash\b", re.I)
_SECRET_WORDS = re.compile(
    rf"助记词|助記詞|私钥|私鑰|验证码|驗證碼|密码|密碼|{_SEED_NAMES}|password|\bcode\b|\botp\b", re.I
)
_SEED_WORDS = re.compile(rf"助记词|助記詞|私钥|私鑰|{_SEED_NAMES}", re.I)
# "Can't you just freeze it?" after a leaked seed: freezing does not help, moving does.
_FREEZE = re.compile(
    r"冻结|凍結|锁定|鎖定|封锁|封鎖|\bfreez|\block (?:my|the|it)|\bblock (?:my|the|it)", re.I
)
_UNAUTHORISED = re.compile(
    r"被盗|被盜|盗号|盜號|被黑|被入侵|不是我(?:本人)?(?:操作|提|转|轉)|全提走|被提走|被转走|被轉走"
    r"|hacked|stolen|unauthori[sz]ed|someone (?:logged|withdrew|took|stole)|i didn'?t (?:make|do|authori[sz]e)",
    re.I,
)
_LOSS = re.compile(
    r"转了|轉了|付了|交了|给了|給了|打了|被骗|被騙|已经转|已經轉|\bsent (?:them|him|her|it|money|\d)|\bpaid\b|transferred|\blost\b",
    re.I,
)
# A second question in the same message ("…also how do I turn on 2FA?", "另外想顺便问一下…").
_SIDE_MARK = re.compile(
    r"(?:^|[,，。.!！?？;；\s])(?:also|btw|by the way|plus|另外|顺便问一下|順便問一下|顺便问|順便問|顺便|順便"
    r"|还有个问题|還有個問題|还有一个问题|還有一個問題|还想问|還想問|再问一下|再問一下)[,，:：\s]*",
    re.I,
)
SIDE_MIN_CONFIDENCE = 0.5


def _side_question(text: str) -> str:
    """The side question after a mark, if the message has one after something else."""
    match = _SIDE_MARK.search(text or "")
    if match is None or match.start() < 4:
        return ""
    side = text[match.end():].strip()
    return side if len(side) >= 4 else ""


# Verdicts whose next step is "an agent will check it" (kefu.wallet.diagnosis).
_AGENT_MUST_CHECK = ("unsupported_network", "chain_unavailable")
# Context: "back to ...", "what now?", "proof of my transfer" (transaction help, not security).
_BACK = re.compile(r"回到|刚才|剛才|之前的|前面的|back to|earlier|previous question|going back", re.I)
_FOLLOW_UP = re.compile(
    r"怎么办|怎麼辦|咋办|那怎么|要多久|多久|什么时候|什麼時候|几点|幾點|然后呢|然後呢|会不会|會不會|是不是|能不能"
    r"|钱.*没了|錢.*沒了|会丢|會丟|要不要(?:再|重新)|(?:再|重新)(?:转|轉|充|提|发|發)一次"
    r"|what (?:do|should|can) i do|what now|when will|what time|how long|how much longer|did i lose"
    r"|lose (?:the|my) money|should i (?:send|resend|deposit|try) (?:it )?again"
    # "Do I need to do anything?", "is my money safe?", "is it just gone?": about the transfer at hand.
    r"|(?:do|should|must) i (?:need to |have to )?do anything|anything (?:i need|for me) to do|need to do anything"
    r"|is (?:my|the) (?:money|deposit|withdrawal|fund|crypto|coin|usdt|eth|btc)s? (?:safe|gone|lost)"
    r"|(?:is|was) it (?:just )?(?:gone|lost|safe)|gone forever"
    r"|(?:钱|錢|资金|資金|资产|資產|币|幣)(?:是不是|还|還)?(?:安全|丢了|丟了|没了|沒了)"
    r"|(?:需要|要|用不用)(?:我)?(?:做|操作)(?:什么|什麼|些什么|些什麼|吗|嗎)",
    re.I,
)
# Weaker cues ("and ...?", "so ...", "cheaper?"): a follow-up only when no clear new intent is heard.
_CONNECTOR = re.compile(r"^\s*(?:so|and|then|ok so|那|那么|那麼)\b|cheaper|便宜|更快|faster", re.I)
_PROOF = re.compile(
    r"转账证明|轉帳證明|付款证明|付款證明|充值证明|提现证明|proof of (?:my )?(?:transfer|payment|deposit|withdrawal)"
    r"|transfer proof|payment proof",
    re.I,
)
FLOW_INTENTS = frozenset(flows.FLOWS)
# Intents answered by the same step: asking "which of these do you mean?" between them only
# delays the answer ("is this fee request real?" is both a scam report and a channel check).
SAME_ANSWER: tuple[frozenset[str], ...] = (frozenset({"verify_official_channel", "scam_report"}),)
# Intents that, inside a flow, are the same problem seen from another side (not a new topic).
FLOW_FAMILY: dict[str, frozenset[str]] = {
    "deposit_not_credited": frozenset(
        {
            "deposit_wrong_network",
            "transaction_status",
            "transaction_failed",
            "maintenance_notice",
            "queue_wait",
            "balance_discrepancy",
        }
    ),
    "withdrawal_pending": frozenset(
        {"withdrawal_failed", "transaction_status", "transaction_failed", "maintenance_notice", "queue_wait"}
    ),
    "withdrawal_failed": frozenset(
        {"withdrawal_pending", "transaction_failed", "transaction_status", "queue_wait"}
    ),
    "otp_problem": frozenset({"two_factor", "account_locked", "queue_wait"}),
    "deposit_wrong_network": frozenset(
        {"deposit_not_credited", "transaction_status", "transaction_failed", "balance_discrepancy", "queue_wait"}
    ),
}
# Topics (outside the flows) whose article answers what another intent's words say: the
# counterparty's pressure and fake payment screenshots are the trade dispute (appeal, don't release),
# a rejected 6-digit code right after setting up the authenticator is the authenticator's clock.
RELATED_TOPIC: dict[str, frozenset[str]] = {
    "trade_dispute": frozenset({"scam_report", "verify_official_channel", "transaction_status"}),
    "two_factor": frozenset({"otp_problem"}),
}
# Codes that come by SMS, e-mail or voice are the code problem, whatever the topic before.
_CODE_BY_MESSAGE = re.compile(r"短信|簡訊|邮件|郵件|邮箱|郵箱|语音|語音|\bsms\b|\btext message|\bemail\b|\bvoice\b", re.I)
_TRANSFER_INTENTS = frozenset(
    {
        "deposit_not_credited",
        "deposit_wrong_network",
        "withdrawal_pending",
        "withdrawal_failed",
        "transaction_status",
        "transaction_failed",
        "balance_discrepancy",
    }
)
# A records fact saying there is nothing to see (facts.py's wording): keep collecting details.
_NOTHING_FOUND = re.compile(
    r"没有.{0,30}记录|沒有.{0,30}記錄|\bI see no\b|\bno (?:deposit|withdrawal)|cannot see|can't see|看不到|无法查看",
    re.I,
)
_LOST = re.compile(
    r"lose (?:the|my) money|lost (?:the|my) money|money (?:is )?gone|钱.{0,4}没了|錢.{0,4}沒了|丢了|丟了|退回",
    re.I,
)
_WHAT_NOW = re.compile(r"怎么办|怎麼辦|咋办|what (?:do|should|can) i do|what now|what next|下一步", re.I)
# "What should I do now / while I wait?" once the case is with a human.
_WHAT_NOW_WAITING = re.compile(
    r"怎么办|怎麼辦|咋办|现在.{0,6}(?:做|办|辦)|現在.{0,6}(?:做|辦)|我(?:能|可以|该|該|应该|應該)做(?:什么|什麼|些什么)"
    r"|(?:还|還)(?:需要|要|应该|應該|该|該|能|可以)(?:做|注意)|(?:还|還)有(?:什么|什麼)要做"
    r"|what (?:do|should|can) i do|what now|what next|what else|anything else (?:i|to)|while i wait"
    r"|in the meantime|meanwhile",
    re.I,
)
# Fear about what the other side can still do ("会不会已经进了我的账户？", "can they still get in?").
_WORRIED = re.compile(
    r"会不会|會不會|好怕|好驚|好惊|害怕|担心|擔心|怎么保护|怎麼保護|安全吗|安全嗎"
    r"|\b(?:worried|scared|afraid)\b|(?:can|could|will) (?:they|he|she|the scammer) (?:still )?(?:get|access|take|steal|log)",
    re.I,
)
# Someone was given remote control of the customer's device or screen (AnyDesk, TeamViewer…).
_REMOTE_ACCESS = re.compile(
    r"anydesk|teamviewer|rustdesk|向日葵|todesk|远程(?:控制|协助|桌面|操作|软件)|遠程(?:控制|協助|桌面|操作|軟件)"
    r"|遠端(?:控制|協助|桌面|操作|軟體)|遙距控制|遥距控制|(?:屏幕|螢幕|荧幕|熒幕)(?:共享|分享)|(?:共享|分享)(?:屏幕|螢幕)"
    r"|睇(?:咗)?(?:我(?:个|個))?(?:屏幕|螢幕|荧幕|熒幕)|看(?:了)?我的(?:屏幕|螢幕)"
    r"|screen ?shar|shar(?:e|ed|ing) (?:my |the )?screen|remote (?:access|control|desktop|support app)",
    re.I,
)
# …and it was done: installed, connected, shown.
_REMOTE_DONE = re.compile(
    r"装了|裝了|裝咗|装咗|安装了|安裝了|下载了|下載了|已经装|已經裝|连上了|連上了|俾佢|给他看|給他看|给他们看|給他們看|看了|睇咗"
    r"|看到了我的|看到我的|控制了|控制我的"
    r"|\b(?:installed|downloaded|connected|gave (?:him|her|them)|let (?:him|her|them)|shared|allowed|i did)\b"
    r"|\b(?:saw|seen|watched|see) (?:my|the) screen\b|\btook (?:over|control)\b",
    re.I,
)
# "Waited an hour and it's still not back": what the answer said would happen did not.
_STILL_NOT = re.compile(
    r"(?:还是|還是|仍然|依然|一直|都)(?:没|沒|未)(?:有)?(?:退|到|回|收到|入账|入賬|变|變|恢复|恢復|解决|解決|好)"
    r"|\bstill (?:not|no|hasn'?t|haven'?t|isn'?t|didn'?t|nothing|stuck|missing)\b|\bnot (?:back|refunded|returned) yet\b",
    re.I,
)
# A control in the app that does not work: the button, not the money.
_UI_BROKEN = re.compile(
    r"按钮|按鈕|按键|按鍵|灰色|变灰|變灰|灰掉|点不了|點不了|点不动|點不動|按不了|按不动|按不動"
    r"|\bbutton\b|gr[ae]y(?:ed)? out|\bgr[ae]yed\b|can'?t (?:tap|click|press)|not clickable|unclickable",
    re.I,
)
# The phone number the codes go to is gone: that is recovering the account (INTENTS.md), not a
# code that is slow to arrive.
_PHONE_GONE = re.compile(
    r"(?:手机号|手機號|手机号码|手機號碼|号码|號碼|电话号|電話號)[^。！？!?]{0,12}?(?:早就|已经|已經|早已)?"
    r"(?:不用了|没用了|沒用了|停用|注销|註銷|换了|換了|没了|沒了|丢了|丟了|不在了|停机|停機|不是我的了)"
    r"|(?:换了|換了|换过|換過)(?:手机号|手機號|号码|號碼|号|號)"
    r"|\b(?:no longer|don'?t|do not) (?:have|use|own) (?:that|the|my old|my) (?:phone )?(?:number|phone|sim)\b"
    r"|\bold (?:phone )?number\b|\b(?:lost|changed) my (?:phone )?number\b",
    re.I,
)
# Closing (deleting) the account; a phone number "注销" with its carrier is not this.
_CLOSE_ACCOUNT = re.compile(
    r"(?<![号號码碼机機])(?:注销|註銷|删除|刪除|关闭|關閉|销|銷)(?:掉)?(?:我的)?(?:账|帳|賬)(?:号|號|户|戶)"
    r"|(?:账|帳|賬)(?:号|號|户|戶)[^，,。？?！!]{0,5}?(?:注销|註銷|删除|刪除|关闭|關閉)|销户|銷戶"
    r"|(?<![号號码碼机機])(?:如果|要是|一旦)?(?:注销|註銷)(?:了|之后|之後|以后|以後)"
    r"|\b(?:close|delete|deactivate|terminate|cancel|remove) (?:my |the |this )?account\b|\baccount (?:deletion|closure)\b",
    re.I,
)
# "Can you check it for me?": the customer asks for what only a person with the account can do.
_ACT_FOR_ME = re.compile(
    r"(?:帮|幫)(?:我|忙)(?:查|处理|處理|核实|核實|跟进|跟進|解封|解锁|解鎖)(?![^，,。？?]{0,4}(?:怎么|怎麼|如何))"
    r"|麻烦(?:你们)?(?:处理|查)|麻煩(?:你們)?(?:處理|查)"
    r"|\b(?:can|could) (?:you|u|someone) (?:please )?(?:check|look into|look at|handle|fix|sort out|unlock|unfreeze)\b"
    r"|\bplease (?:check|look into|handle|unlock|unfreeze)\b",
    re.I,
)
# Topics where the bot has only the article: checking the account itself is a person's job.
_ACCOUNT_TOPICS = frozenset({"account_locked", "account_recovery", "kyc_verification", "balance_discrepancy", "update_contact_info"})
# "I want to report it to the police": the scam article's part on reporting answers it.
_POLICE = re.compile(r"报案|報案|报警|報警|警察|警方|公安|police|law enforcement|cyber ?crime", re.I)
_HOW_LONG = re.compile(r"多久|多长时间|多長時間|什么时候|什麼時候|几点|幾點|how long|when will|what time", re.I)
_FLOW_DETAILS = {"coin", "network", "amount", "time", "tx_hash", "address", "memo", "error"}
_CLOCK_TIME = re.compile(r"\d{1,2}:\d{2}(?:\s*UTC)?")
_DEPOSIT_WORDS = re.compile(r"充|儲值|储值|入金|deposit|sent .* to (?:my|the) (?:account|wallet)", re.I)
_WITHDRAW_WORDS = re.compile(r"提|出金|withdr", re.I)
logger = logging.getLogger("kefu.bot")

_YES = re.compile(
    r"^\s*(是|是的|对|好|好的|可以了|解决了|已解决|有用|谢谢|感谢|yes|yep|yeah|solved|it worked|thanks?|thank you|ok)\b",
    re.I,
)
_NO = re.compile(r"^\s*(不|没|否|没有|还没|不行|没用|没解决|未解决|no|nope|not|didn'?t|still)\b", re.I)


@dataclass
class ArticleLink:
    slug: str
    title: str
    url: str


@dataclass
class BotReply:
    conversation_id: str
    text: str
    intent: str | None = None
    confidence: float | None = None
    quick_replies: list[str] = field(default_factory=list)
    articles: list[ArticleLink] = field(default_factory=list)
    handoff: dict[str, Any] | None = None
    secret_warning: str | None = None
    needs_sign_in: bool = False
    asking: str | None = None  # the slot this reply asks for (public name, see PUBLIC_SLOT)


def access_conversation(conversation_id: str | None, *, customer: User | None) -> BotConversation | None:
    """A customer's own conversation (or an anonymous one they hold the id of), else None."""
    if not conversation_id:
        return None
    try:
        public_id = uuid.UUID(str(conversation_id))
    except ValueError:  # not an id we ever issued
        return None
    conversation = BotConversation.objects.filter(public_id=public_id).first()
    if conversation is None:
        return None
    if conversation.customer_id is not None and (customer is None or conversation.customer_id != customer.pk):
        return None
    return conversation


def do_start_conversation(
    *, customer: User | None, language: str, channel: str = Channel.BOT, case: Ticket | None = None
) -> BotConversation:
    """A new conversation: a case in the bot's stage and the dialogue's state row.

    ``channel``: where the customer talks (the chat panel's conversations are ``chat``).
    ``case``: the case it answers, when a channel opened one already (a live chat's session).
    """
    with transaction.atomic():
        if case is None:
            case = stages.do_open_bot_case(customer=customer, channel=channel, language=language)
        return BotConversation.objects.create(customer=customer, language=language, state={}, ticket=case)


def case_of(conversation: BotConversation) -> Ticket:
    """The conversation's case (opened now for one whose case was deleted)."""
    case = conversation.ticket
    if case is None:
        case = stages.do_open_bot_case(
            customer=conversation.customer, language=conversation.language or "zh-hans"
        )
        conversation.ticket = case
        BotConversation.objects.filter(pk=conversation.pk).update(ticket=case)
    return case


@dataclass
class Prepared:
    """The slow, side-effect-free part of answering a message, worked out before any lock.

    On SQLite a write transaction locks the whole database: guarding the text, loading or
    training the intent model (seconds, at start-up), predicting and searching articles inside
    it made every other writer — chat, tickets, the SMTP receiver — wait and then fail with
    "database is locked". The dialogue looks here first and computes only what it misses (a
    message of the same conversation changed its state meanwhile).
    """

    guards: dict[tuple[str, bool], guard.ScanResult] = field(default_factory=dict)
    predictions: dict[str, Any] = field(default_factory=dict)
    articles: dict[str, list] = field(default_factory=dict)


def prepare_message(conversation: BotConversation | None, *, text: str, language: str) -> Prepared:
    """Guard, predict and look up articles for ``text`` with no transaction open (see ``Prepared``)."""
    text = (text or "").strip()[:MAX_TEXT]
    prepared = Prepared()
    if conversation is not None:
        conversation = BotConversation.objects.filter(pk=conversation.pk).first() or conversation
    state = (conversation.state if conversation is not None else None) or {}
    language = (conversation.language if conversation is not None else "") or language
    asking_tx_hash = state.get("asking") == "tx_hash"
    # Wallet records and a chain lookup settle a bare 64-hex (guard.scan_field): slow, so here.
    facts = _hex_facts(conversation, text=text, asking_tx_hash=asking_tx_hash, state=state)
    with override(language):
        scanned = _scan(text, asking_tx_hash=asking_tx_hash, language=language, facts=facts)
        prepared.guards[(text, asking_tx_hash)] = scanned
        if text and not scanned.secret:
            prediction = _predict(scanned.redacted)
            prepared.predictions[scanned.redacted] = prediction
            if prediction.intent:
                prepared.articles[prediction.intent] = _related_articles(prediction.intent, language)
    return prepared


def do_handle_message(
    *,
    conversation: BotConversation | None,
    customer: User | None,
    text: str,
    language: str,
    prepared: Prepared | None = None,
    ip_address: str | None = None,
    browser: str | None = None,
    channel: str = Channel.BOT,
    replies_here: bool = False,
) -> BotReply:
    """Answer one customer message; creates the conversation (and its case) on the first one.

    Callers that hold a transaction already must pass ``prepared`` (``prepare_message``, called
    before their transaction), or the slow work runs under their lock. ``ip_address`` counts a
    signed-out visitor's hand-offs against the creation limit of their address. ``browser``:
    the reply language the browser asks for ("zh-hant" for a traditional-Chinese browser; the
    UI language when None) until the customer's own writing says otherwise.

    ``channel``: the case's channel for a new conversation. ``replies_here``: a messaging
    channel (Telegram, WhatsApp: ``kefu.bot.inbound``) where the agent's replies reach the
    customer in the same chat: a hand-off opens the case to the team at once (no live chat, no
    "sign in first": there is no web session to sign in to).
    """
    text = (text or "").strip()[:MAX_TEXT]
    if prepared is None:
        prepared = prepare_message(conversation, text=text, language=language)
    with transaction.atomic():
        if conversation is None:
            conversation = do_start_conversation(customer=customer, language=language, channel=channel)
        else:
            conversation = BotConversation.objects.select_for_update().get(pk=conversation.pk)
            if conversation.status == ConversationStatus.CLOSED:
                from kefu.bot import idle

                idle.reopen(conversation)  # closed while they were away: the same thread, a fresh dialogue
            if conversation.customer_id is None and customer is not None:
                _adopt(conversation, customer)  # signed in mid-conversation
        with override(conversation.language or language):
            reply = _Dialogue(
                conversation,
                customer,
                prepared,
                ip_address=ip_address,
                browser=browser,
                replies_here=replies_here,
            ).handle(text)
        conversation.save()
    return reply


def do_adopt_conversation(*, conversation: BotConversation, customer: User) -> BotConversation:
    """A signed-out visitor signed in in the same widget session: the conversation and its case
    (handed to the team already or not) become theirs; someone else's stay theirs."""
    with transaction.atomic():
        conversation = BotConversation.objects.select_for_update().get(pk=conversation.pk)
        if conversation.customer_id is None:
            _adopt(conversation, customer)
            conversation.save(update_fields=["customer", "updated_at"])
    return conversation


def do_resume_handoff(*, conversation: BotConversation, customer: User) -> BotReply | None:
    """A customer asked for a human while signed out, then signed in: hand off now.

    The bot asked them to sign in first and kept the request (``pending_handoff``); without this
    the request would wait for their next message, and the panel would still show "please sign
    in". None when nothing is pending (call it freely when a signed-in customer comes back).
    """
    with transaction.atomic():
        conversation = BotConversation.objects.select_for_update().get(pk=conversation.pk)
        if not (conversation.state or {}).get("pending_handoff"):
            return None
        if conversation.customer_id is None:
            _adopt(conversation, customer)
        elif conversation.customer_id != customer.pk:
            return None
        dialogue = _Dialogue(conversation, customer)
        with override(dialogue.ui):
            reply = dialogue._handoff(reason="requested")
        reply = dialogue._finish(reply)
        conversation.save()
    return reply


def _adopt(conversation: BotConversation, customer: User) -> None:
    """A visitor signed in: the conversation and its case are theirs (one already handed to
    humans included: the case appears in their list, with the conversation that led to it)."""
    conversation.customer = customer
    if conversation.ticket is not None:
        stages.do_adopt_case(ticket=conversation.ticket, customer=customer)


def _scan(
    text: str, *, asking_tx_hash: bool, language: str, facts: guard.HexFacts | None = None
) -> guard.ScanResult:
    # We just asked for a transaction hash: the answer is that field (guard.scan_field).
    # Without facts (under a lock) an unsettled bare 64-hex is hidden: the safe side.
    return guard.scan_field(
        text, field="tx_hash" if asking_tx_hash else "text", language=language, facts=facts
    )


def _hex_facts(
    conversation: BotConversation | None, *, text: str, asking_tx_hash: bool, state: dict[str, Any]
) -> guard.HexFacts | None:
    if not guard.hex_candidates(text):
        return None
    from kefu.tickets.actions import hex_facts_for

    slots = state.get("slots") or {}
    return hex_facts_for(
        customer=conversation.customer if conversation is not None else None,
        network=str(slots.get("network") or ""),
        tx_hash=text if asking_tx_hash else "",
        texts=() if asking_tx_hash else (text,),
    )


def _predict(text: str):
    from kefu.bot.engine import default_engine

    return default_engine().predict(text)


def _related_articles(intent: str, language: str) -> list:
    try:
        from kefu.helpcenter.search import related_articles_for_intent
    except ImportError:
        return []
    return list(related_articles_for_intent(intent, language=language, limit=3))


class _Dialogue:
    """One customer message against the conversation's state (see docs/bot-engine.md,
    "Conversations"): the topic stack, the details collected so far, misses, the hand-off."""

    def __init__(
        self,
        conversation: BotConversation,
        customer: User | None,
        prepared: Prepared | None = None,
        *,
        ip_address: str | None = None,
        browser: str | None = None,
        replies_here: bool = False,
    ) -> None:
        self.conversation = conversation
        self.browser = browser
        self.replies_here = replies_here  # see do_handle_message
        self.case = case_of(conversation)
        self.customer = customer
        self.ip_address = ip_address
        self.prepared = prepared or Prepared()
        self.state: dict[str, Any] = conversation.state or {}
        self.conversation.state = self.state
        # The reply's language: what the customer writes (zh-hant is answered in zh-hans and
        # converted at the end); gettext runs in ``self.ui``.
        self.lang: str = self.state.get("lang") or _ui_language(conversation.language)
        self.grounding: list[str] = []  # what the reply is based on, for the optional LLM
        self.asked = False  # this reply asks for state["asking"] (the API's ``asking``)
        self.handed = False  # set by _handle once where the case is now is known
        self.current: Any = None  # where a handed-off conversation is (handoff.Handoff)
        # Why this turn handed the conversation to a person (kept on the reply's message for
        # the reports' hand-off reasons); "" when it did not.
        self.handoff_reason = ""

    @property
    def ui(self) -> str:
        return "en" if self.lang == "en" else "zh-hans"

    # --- entry -------------------------------------------------------------------------

    def handle(self, text: str) -> BotReply:
        self.state.setdefault("browser", self.browser or self.conversation.language)
        # Judged on the guarded text: twelve pasted English seed words are not an English question.
        shown = (
            self._guard(text, asking_tx_hash=self.state.get("asking") == "tx_hash").redacted if text else ""
        )
        self.lang = understand.detect_language(
            shown, fallback=self.state.get("lang") or _reply_language(self.state["browser"])
        )
        self.state["lang"] = self.lang
        if self.conversation.language != self.ui:
            self.conversation.language = self.ui  # tickets, live chat and mail follow the customer
        with override(self.ui):
            reply = self._handle(text)
            if reply.handoff is None and (side := _side_question(shown)):
                reply = self._answer_side(reply, side)
        return self._finish(reply)

    def _answer_side(self, reply: BotReply, side: str) -> BotReply:
        """"…also, how do I turn on 2FA?": the flow's reply, then the side question's answer
        (never swallowed). Only a question the help centre answers, on another topic."""
        prediction = self._predict(fold_cantonese(side))
        intent = prediction.intent
        if (
            intent in SMALLTALK | {OUT_OF_SCOPE, "contact_human", "complaint"} | URGENT_INTENTS
            or prediction.confidence < SIDE_MIN_CONFIDENCE
        ):
            return reply
        answer = self._find_answer(side, intent)
        if answer is None or answer.text in reply.text:
            return reply
        if (intent == reply.intent or intent == self._topic()) and answer.article_url in " ".join(
            a.url for a in reply.articles
        ):
            return reply  # the same section of the same topic: said already
        label = _("About your other question:")
        reply.text = "\n\n".join(
            part for part in (reply.text, f"{label} {answer.text}", self._more(answer)) if part
        )
        self.grounding.append(answer.text)
        return reply

    def _finish(self, reply: BotReply) -> BotReply:
        """The single place where the reply text is final: LLM polish (optional), script."""
        if self.grounding and not reply.handoff:
            from kefu.bot import llm

            reply.text = llm.polish(reply.text, grounding=self.grounding, language=self.ui)
        # Repeats are judged on the text as written (before the script conversion).
        self.state["last_reply"] = reply.text
        if self.lang == "zh-hant":
            reply.text = understand.to_traditional(reply.text)
            reply.quick_replies = [understand.to_traditional(q) for q in reply.quick_replies]
            if reply.secret_warning:
                reply.secret_warning = understand.to_traditional(reply.secret_warning)
        extra: dict[str, Any] = {}
        if reply.intent:
            extra["intent"] = reply.intent
        if reply.quick_replies:
            extra["quick_replies"] = reply.quick_replies
        if reply.articles:
            extra["articles"] = [{"slug": a.slug, "title": a.title, "url": a.url} for a in reply.articles]
        if reply.asking:
            extra["asking"] = reply.asking
        if self.handoff_reason and reply.handoff is not None:
            extra["handoff_reason"] = self.handoff_reason
        thread.append(self.case, body=reply.text, sender=Sender.BOT, channel=self.case.channel, extra=extra)
        return reply

    def _handle(self, text: str) -> BotReply:
        asking = self.state.get("asking")
        guarded = self._guard(text, asking_tx_hash=asking == "tx_hash")
        if not text:
            return self._say(_("Please type your question."), intent=None)
        self.handed = self.conversation.status == ConversationStatus.HANDED_OFF
        if self.handed:
            from kefu.bot.handoff import current_handoff

            self.current = current_handoff(self.conversation)
            if self.current is None:
                # The chat ended (and filed its transcript as the chat app does): the bot takes
                # the conversation back, and a new request for a human opens a new chat.
                self.conversation.status = ConversationStatus.BOT
                self.handed = False
        if guarded.secret:
            return self._secret(guarded, asking=asking)
        clean = guarded.redacted
        # The policy rules below read Cantonese as Mandarin ("我要搵負責人" = "我要找負責人").
        plain = fold_cantonese(clean)
        found = self._remember(clean, asking=asking)

        if self.state.get("pending_handoff") and self.customer is not None and not self.handed:
            self._log_customer(clean)
            return self._handoff(reason="requested")
        if (about_bot := _about_the_bot(clean)) is not None:
            self._log_customer(clean, intent="greeting", confidence=1.0)
            return self._say(about_bot, intent="greeting", quick_replies=[_("Talk to a human")])
        if _HUMAN.search(plain) or clean.strip() == _("Talk to a human"):
            self._log_customer(clean, intent="contact_human", confidence=1.0)
            return self._handoff(reason="requested")
        if self.state.get("awaiting_feedback"):
            reply = self._feedback(clean)
            if reply is not None:
                return reply
        if options := self.state.pop("clarify", None):
            chosen = self._match_option(clean, options)
            if chosen:
                self._log_customer(clean, intent=chosen, confidence=1.0)
                return self._respond(chosen, clean, found=found)

        prediction = self._predict(clean)
        intent, confidence = prediction.intent, prediction.confidence
        intent = self._in_context(clean, intent, confidence, found=found, asking=asking, ranked=prediction.ranked)
        self._log_customer(clean, intent=intent, confidence=confidence)

        if self.handed:
            # Already with a human: keep helping (answers, safety steps), never a second case.
            if _SEED_LEAKED.search(plain):
                return self._seed_leaked(clean)
            if self.state.get("seed_leaked") and _FREEZE.search(plain):
                return self._seed_freeze(intent)
            if _PHISHED.search(plain):
                return self._phished(intent, clean)
            if _REMOTE_ACCESS.search(plain) and _REMOTE_DONE.search(plain):
                return self._remote_access(clean, intent=intent)
            if _POLICE.search(plain) and self._topic() in URGENT_INTENTS:
                return self._answer("scam_report", clean)
            if self._topic() in URGENT_INTENTS and (_WHAT_NOW_WAITING.search(plain) or _WORRIED.search(plain)):
                return self._while_you_wait()
            return self._respond(intent, clean, confidence=confidence, found=found)
        # Hand-off policy: escalation and complaints, anger, urgent security.
        if _ESCALATE.search(plain) or (intent == "complaint" and confidence >= 0.5):
            return self._handoff(reason="complaint", intent=self._topic() or intent)
        if _ANGRY.search(plain) and (intent not in SMALLTALK | {OUT_OF_SCOPE} or self._topic()):
            return self._handoff(reason="frustrated", intent=self._topic() or intent)
        if _ANGRY.search(plain) and self.state.get("misses", 0) >= 1:
            return self._handoff(reason="frustrated", intent=self._topic() or intent)
        if _SEED_LEAKED.search(plain):
            return self._seed_leaked(clean)
        if _APP_FROM_THEM.search(plain) and (
            intent in ("scam_report", "verify_official_channel") or self._topic() in ("scam_report", "verify_official_channel")
        ):
            self.state["scam_app"] = True  # "they told me to download an app": remembered for "I did"
        elif self.state.get("scam_app") and _INSTALLED.search(plain):
            if _NOT_OPENED.search(plain):
                # Installed but never opened: deleting it ends it; nothing was typed into it.
                self.state["topic"] = "scam_report"
                return self._say(
                    _(
                        "Delete it now without opening it: uninstall the app and remove the downloaded file. Only "
                        "install our app from the official app store or our website. If you did open it or typed "
                        "anything into it, tell me and a person will help you secure your account."
                    ),
                    intent="scam_report",
                    quick_replies=[_("Talk to a human")],
                )
            return self._remote_access(clean, intent=intent)
        if _STORED_ONLINE.search(plain) and _ALREADY_DONE.search(plain) and (
            _SEED_WORDS.search(plain) or (self._topic() == "seed_phrase_safety" and self.state.get("seed_exposed"))
        ):
            return self._seed_exposed(intent)
        if _REMOTE_ACCESS.search(plain):
            if _REMOTE_DONE.search(plain):
                return self._remote_access(clean, intent=intent)
            self.state["remote_warned"] = True
        if intent == "account_compromised" or _UNAUTHORISED.search(plain) or (
            _APPROVAL.search(plain) and _DRAINED.search(plain)
        ):
            reply = self._handoff(reason="urgent", intent="account_compromised")
            if _APPROVAL.search(plain):
                # Drained after approving a DApp: the approval keeps working until it is revoked.
                reply.text = (
                    _(
                        "Revoke that DApp's token approval now (in the wallet's connected sites / approvals, or "
                        "a revoke tool on the chain's explorer) and move what is left to a new address: an "
                        "approval keeps working until it is revoked."
                    )
                    + "\n"
                    + reply.text
                )
            return reply
        if intent == "scam_report" and _LOSS.search(plain):
            return self._handoff(reason="urgent", intent="scam_report")
        if self.state.get("seed_leaked") and _FREEZE.search(plain):
            return self._seed_freeze(intent)
        if _PHISHED.search(plain):
            return self._phished(intent, clean)
        if _CODE_REQUESTED.search(plain):
            return self._code_requested(intent)
        topic = self._topic() or ""
        if (topic.startswith("withdrawal") or (intent or "").startswith("withdrawal")) and _SENT_DONE.search(plain):
            self.state["sent_onchain"] = True
        if _STOP_WITHDRAWAL.search(plain) and self.state.get("sent_onchain") and topic.startswith("withdrawal"):
            # Completed on-chain: no one can stop it; say so and what does help.
            return self._say(
                _(
                    "A withdrawal that is completed on the blockchain can't be reversed or cancelled — not by us "
                    "and not by anyone else. The receiving platform can credit it: send them the transaction hash "
                    "(and the memo/tag, if one was needed) and ask their support to trace it."
                ),
                intent=topic,
                quick_replies=[_("Talk to a human")],
            )
        if (
            _CANCEL.search(plain)
            and _CAN_I.search(plain)
            and (topic.startswith("withdrawal") or (intent or "").startswith("withdrawal"))
            and not self.state.get("sent_onchain")
        ):
            # "可以先撤销吗" while it is under review: the customer can, as the article says.
            self.state["topic"] = topic if topic.startswith("withdrawal") else intent
            return self._say(
                _(
                    "While a withdrawal is still under review you can cancel it yourself, and the amount returns "
                    "to your balance. Once it is processing or sent on-chain it can no longer be cancelled."
                ),
                intent=self.state["topic"],
                confidence=confidence,
                quick_replies=[_("Talk to a human")],
            )
        if _STOP_WITHDRAWAL.search(plain) and (topic.startswith("withdrawal") or (intent or "").startswith("withdrawal")):
            return self._handoff(reason="urgent", intent=topic if topic.startswith("withdrawal") else intent)

        if (
            topic in _ACCOUNT_TOPICS
            and self.state.get("answered") == topic
            and _ACT_FOR_ME.search(plain)
            and intent not in SMALLTALK
        ):
            # The article was given; "can you check it for me?" asks for someone who can see the account.
            return self._handoff(reason="requested", intent=topic)
        recovering = intent if intent in flows.RECOVERED_BY_HAND else topic
        if recovering in flows.RECOVERED_BY_HAND and "tx_hash" in found:
            # The hash was the missing piece: the deposit is found and credited by hand.
            return self._handoff(reason="unsolved", intent=recovering)
        if (
            topic in _TRANSFER_INTENTS
            and self.state.get("answered") == topic
            and topic not in flows.FLOWS
            and _STILL_NOT.search(plain)
            and not self.state.get("announced_detail")
        ):
            # The answer was given and the customer tried it: still not resolved → a person now.
            return self._handoff(reason="unsolved", intent=topic)

        ranked = prediction.ranked
        if len(ranked) >= 2 and confidence < CLARIFY_CEILING and _SCAM_CUE.search(plain):
            # "Someone says I must pay a fee to unfreeze — is it real?": between a safety reading
            # and another, the safety one answers without a "which do you mean?".
            safety = next((name for name, _score in ranked[:2] if name in SAME_ANSWER[0]), None)
            if safety is not None:
                return self._respond(safety, clean, confidence=confidence, found=found)
        if (
            intent == prediction.intent
            and intent != OUT_OF_SCOPE
            and len(ranked) >= 2
            and confidence < CLARIFY_CEILING
            and ranked[0][1] - ranked[1][1] < CLARIFY_MARGIN
            and not {ranked[0][0], ranked[1][0]} & SMALLTALK
            and not any({ranked[0][0], ranked[1][0]} <= same for same in SAME_ANSWER)
            and not found
            and intent != self._topic()  # the topic is a reading of it: the topic goes on
        ):
            options = [ranked[0][0], ranked[1][0]]
            self.state["clarify"] = options
            return self._say(
                _("Just to be sure — which of these do you mean?"),
                intent=intent,
                confidence=confidence,
                quick_replies=[str(INTENT_LABELS[o]) for o in options] + [_("Talk to a human")],
            )
        return self._respond(intent, clean, confidence=confidence, found=found)

    # --- understanding in context ----------------------------------------------------------

    def _topic(self) -> str | None:
        return self.state.get("topic")

    def _remember(self, text: str, *, asking: str | None) -> dict[str, str]:
        """Every detail of this message, added to the conversation's (a correction replaces)."""
        known = self.state.setdefault("slots", {})
        found = understand.extract(text, known=known, asking=asking)
        problem = found.pop("tx_hash_problem", None)
        if problem == "length":
            # Kept as given (the team can still search for it), with a word to check it.
            self.state["txid_length"] = len(found.get("tx_hash", "")) - 2
        elif problem:
            self.state["txid_problem"] = found.get("tx_hash", "")
            found.pop("tx_hash", None)
        for key, value in found.items():
            known[key] = value
        if "coin" in found and known.get("network") and found["coin"] in understand.COIN_NETWORKS:
            if known["network"] not in understand.COIN_NETWORKS[found["coin"]] and "network" not in found:
                known.pop("network")  # a BTC deposit has no TRC-20 network
        self.state["new"] = sorted(found)
        return found

    def _in_context(
        self,
        text: str,
        intent: str,
        confidence: float,
        *,
        found: dict[str, str],
        asking: str | None,
        ranked: list[tuple[str, float]] | None = None,
    ) -> str:
        """Follow-ups are judged in context: a short message with no clear intent of its own,
        or one that only adds details, continues the current topic; "back to ..." resumes the
        paused one; a clear new question pauses the current topic (the stack)."""
        topic = self._topic()
        paused: list[str] = self.state.setdefault("paused", [])
        if (
            paused
            and _BACK.search(text)
            and (
                intent in SMALLTALK
                or intent == OUT_OF_SCOPE
                or confidence < 0.8
                or intent == paused[-1]
                or found
            )
        ):
            resumed = paused.pop()
            self.state["topic"] = resumed
            self.state["resumed"] = True
            return resumed
        if _PROOF.search(text):
            return "transaction_status"
        if (
            intent in ("scam_report", "verify_official_channel")
            and _HASH_WORDS.search(text)
            and not _SECRET_WORDS.search(text)
            and not _SCAM_CUE.search(text)
            and not _IMPOSTOR.search(text)
        ):
            # "The other platform's support wants the hash": a transaction hash is public, asking
            # for it is what any platform does — this is "where do I find it", not a scam.
            return "transaction_status"
        if (
            intent in ("withdrawal_failed", "withdrawal_pending", "deposit_not_credited", "transaction_failed")
            and _UI_BROKEN.search(text)
            and not found.keys() & {"amount", "tx_hash"}
        ):
            # "The withdraw button is greyed out": a broken control in the app, not a transfer.
            return "feature_malfunction"
        if (
            self._topic() == "fees"
            and _HOW_MUCH.search(text)
            and found.keys() & {"coin", "network"}
            and not _LOSS.search(text)
        ):
            # "那提到外面呢 USDT走BEP20多少": during fees, "how much" on a coin or network is its fee.
            return "fees"
        if (
            self._topic() in ("two_factor", "otp_problem")
            and intent == "wallet_backup_restore"
            and not _SEED_WORDS.search(text)
            and not _WALLET_WORDS.search(text)
        ):
            # "How do I move it to my new phone?" about the authenticator: "it" is the authenticator.
            return "two_factor"
        if intent == "maintenance_notice" and self.state.get("announced") and self._topic() in flows.FLOWS:
            # "Do I need to do anything once the maintenance is over?": the maintenance already
            # announced for this transfer — the transfer's topic goes on.
            return self._topic() or intent
        if intent in ("otp_problem", "password_reset", "account_locked", "two_factor") and _PHONE_GONE.search(text):
            return "account_recovery"
        if _CLOSE_ACCOUNT.search(text) and not _PHONE_GONE.search(text) and intent not in URGENT_INTENTS | {
            "contact_human",
            "complaint",
        }:
            # Closing the account: the model has no such intent (it reads "recovery", "restore" or
            # nothing); the locked-account article, about the account's status, answers it.
            return "account_locked"
        if intent in ("deposit_wrong_network", "deposit_not_credited") and _OUTBOUND.search(text) and not _INBOUND.search(text):
            return "withdrawal_pending"
        weak = intent == OUT_OF_SCOPE or confidence < 0.55
        if (
            weak
            and (found.keys() & {"coin", "amount", "tx_hash"})
            and (topic is None or topic not in flows.FLOWS)
        ):
            # Transfer details with no clear intent: the words say which way the money went.
            if _DEPOSIT_WORDS.search(text):
                return "deposit_not_credited"
            if _WITHDRAW_WORDS.search(text):
                return "withdrawal_pending"
        if topic is None:
            return intent
        short = len(text.strip()) <= 16
        if found.keys() & _FLOW_DETAILS and topic in flows.FLOWS and not (intent == "thanks" and not short):
            return topic  # "昨天下午三点" is a detail of the flow, not a greeting
        if intent in SMALLTALK and confidence >= 0.5 and not (
            _FOLLOW_UP.search(text) and len(text.strip()) <= 40 and intent != "thanks"
        ):
            # "好吧 那大概几点能到" opens like a goodbye but asks about the topic.
            return intent
        if intent in ("contact_human", "complaint", "account_compromised") and not weak:
            return intent
        if _FOLLOW_UP.search(text) and len(text.strip()) <= 40:
            return topic  # "so what do I do?", "还要多久", "did I lose the money?"
        if intent == OUT_OF_SCOPE and len(text.strip()) <= 40:
            return topic
        if (found.keys() & _FLOW_DETAILS or (asking and weak)) and topic in flows.FLOWS:
            return topic  # a message that adds details continues the flow
        if weak and (short or _FOLLOW_UP.search(text) or _CONNECTOR.search(text)):
            return topic
        if (
            confidence < VAGUE_CONFIDENCE
            and topic in {name for name, _score in (ranked or [])[:3]}
            and not _LOSS.search(text)
        ):
            # No reading of its own, and the topic is one of its readings ("I never saved the
            # backup key — am I stuck?" during the authenticator): the topic goes on; a "which
            # of these do you mean?" would ignore what was just said.
            return topic
        if (
            _CONNECTOR.search(text)
            and len(text.strip()) <= 40
            and (intent in FLOW_FAMILY.get(topic, ()) or confidence < 0.8)
        ):
            return topic
        if intent == topic:
            return topic
        if intent in RELATED_TOPIC.get(topic, ()) and not _LOSS.search(text) and not (
            topic == "two_factor" and _CODE_BY_MESSAGE.search(text)
        ):
            return topic
        if intent in FLOW_FAMILY.get(topic, ()) and confidence < 0.8:
            return topic
        if topic in flows.FLOWS and intent not in (OUT_OF_SCOPE, "contact_human", "complaint") and not weak:
            # A side question: pause the flow, answer, come back later.
            if topic not in paused:
                paused.append(topic)
        return intent

    # --- responding --------------------------------------------------------------------

    def _respond(
        self, intent: str, text: str, *, confidence: float | None = None, found: dict[str, str] | None = None
    ) -> BotReply:
        found = found or {}
        if self.handed and (intent in (SMALLTALK - {"thanks"}) or intent == OUT_OF_SCOPE):
            return self._say(self._handed_status(again=True), intent=intent, confidence=confidence)
        if intent not in SMALLTALK | {OUT_OF_SCOPE}:
            if intent != self._topic():
                self.state.pop("asking", None)
            self.state["topic"] = intent
            self.state["last_intent"] = intent
        if intent == OUT_OF_SCOPE:
            return self._miss(
                _(
                    "Sorry, I can't help with that. I can answer questions about your account, deposits, "
                    "withdrawals, transactions and security."
                ),
                intent=intent,
                confidence=confidence,
            )
        if intent == "greeting":
            return self._say(
                _("Hello! I'm the {brand} assistant. What can I help you with?").format(brand=self._brand()),
                intent=intent,
                confidence=confidence,
                quick_replies=[_("Deposit not credited"), _("Withdrawal is stuck"), _("Talk to a human")],
            )
        if intent == "thanks":
            topic = self._topic()
            paused = self.state.get("paused") or []
            text_ = _("You're welcome! Anything else I can help with?")
            if paused:
                text_ += " " + _("We can also go back to your earlier question about: {topic}.").format(
                    topic=INTENT_LABELS[paused[-1]]
                )
            elif topic and self.handed:
                text_ = _("You're welcome. Your case stays open with our team.")
            return self._say(text_, intent=intent, confidence=confidence)
        if intent == "goodbye":
            for key in ("topic", "paused", "asking", "awaiting_feedback", "clarify"):
                self.state.pop(key, None)
            return self._say(_("Goodbye, and stay safe!"), intent=intent, confidence=confidence)
        if intent == "contact_human":
            return self._handoff(reason="requested")
        if intent in ("verify_official_channel", "scam_report"):
            return self._channel_check(intent, text, confidence=confidence)
        if intent in flows.FLOWS:
            return self._flow(intent, text, confidence=confidence, found=found)
        return self._answer(intent, text, confidence=confidence)

    def _prefix(self) -> list[str]:
        """The "back to your earlier question" line when a paused topic was resumed."""
        topic = self._topic()
        if self.state.pop("resumed", False) and topic:
            return [_("Back to your earlier question about: {topic}.").format(topic=INTENT_LABELS[topic])]
        return []

    def _answer(
        self, intent: str, text: str, *, confidence: float | None = None, lead: list[str] | None = None
    ) -> BotReply:
        """A short answer from the right article section, then its link — never the same block
        twice in a row (the second time: what else can be done)."""
        lines = self._prefix() + list(lead or [])
        new = {k: v for k, v in (self.state.get("slots") or {}).items() if k in self.state.get("new", [])}
        if new.get("network") or new.get("coin"):
            about = " ".join(dict.fromkeys(v for v in (new.get("coin"), new.get("network")) if v))
            lines.append(_("About {what}:").format(what=about))
        lines += self._memo_advice()
        facts = self._facts(intent)
        lines += [f.text for f in facts]
        announced = [f.detail or f.text for f in facts if f.kind == "announcement"]
        if announced:
            self.state["announced_detail"] = announced
        elif self.state.get("announced_detail") and (_FOLLOW_UP.search(text) or _WHAT_NOW.search(text)):
            # "So it's your servers? What do I do now?": the incident said before still holds,
            # and what it says (a workaround, an end time) is the answer — in other words this time.
            lines.append(_("As announced: {text}").format(text=" ".join(self.state["announced_detail"])))
        if intent == "maintenance_notice" and not facts:
            lines.append(self._announcements_text())
        answer = self._find_answer(text, intent)
        articles: list[ArticleLink] = []
        if answer is not None:
            block = answer.text
            if block == self.state.get("last_answer"):
                # Asked again in other words ("注销以后还能恢复吗"): the answer's first sentence, when
                # short, is said again as a reminder (a short line is no repeated block), then what next.
                first = _first_sentence(block)
                if first != block and len(first) < 40:
                    lines.append(_("As I said: {text}").format(text=first))
                lines.append(self._next_step_after(intent))
            else:
                lines.append(block)
                lines.append(self._more(answer))
                self.state["last_answer"] = block
                self.grounding.append(block)
            articles = [
                ArticleLink(
                    slug=_slug(answer.article_url), title=answer.article_title, url=answer.article_url
                )
            ]
        elif not facts and intent != "maintenance_notice":
            fallback = self._article_steps(intent)
            if fallback and fallback[0] != self.state.get("last_answer"):
                lines.append(fallback[0])
                self.state["last_answer"] = fallback[0]
                articles = fallback[1]
            else:
                return self._miss(
                    _("I'm not sure I have a good answer to that. Could you say it in other words?"),
                    intent=intent,
                )
        self.state["misses"] = 0
        if intent in flows.RECOVERED_BY_HAND and not (self.state.get("slots") or {}).get("tx_hash") and not self.handed:
            lines.append(
                _(
                    "Our team recovers such deposits by hand: send me the transaction hash (TxID) of the "
                    "transfer and I will pass it to them with your details."
                )
            )
        if answer is not None:
            self.state["answered"] = intent
        if intent in _TRANSFER_INTENTS and _WHAT_NOW.search(text):
            # "So what do I do?" about a transfer: the concrete next step too, not only the article.
            step = self._next_step_after(intent)
            if step not in lines and step not in self.state.get("last_reply", ""):
                lines.append(step)
        return self._say(
            "\n".join(line for line in lines if line),
            intent=intent,
            confidence=confidence,
            quick_replies=[_("Talk to a human")] if not self.handed else [],
            articles=articles,
        )

    def _more(self, answer: Any) -> str:
        return self._link_line(answer.article_title, answer.article_url)

    def _link_line(self, title: str, url: str) -> str:
        """The link line, left out when the previous reply linked the same article."""
        if title and title in self.state.get("last_reply", ""):
            return ""
        return _("More: “{title}” {url}").format(title=title, url=url)

    def _find_answer(self, text: str, intent: str | None) -> Any:
        try:
            from kefu.bot import answers
        except ImportError:
            return None
        query = text
        queries_extra: list[str] = []
        if _PROOF.search(text):
            query = _("How do I find the transaction hash (TxID) and look it up in a block explorer?")
        elif _CLOSE_ACCOUNT.search(text) and not _PHONE_GONE.search(text):
            # Closing the account is answered in the locked-account article, whatever the intent model read.
            queries_extra = [_("How do I close (delete) my account?")]
        elif _POLICE.search(text) and intent in URGENT_INTENTS:
            # "我想报案，你们能帮我查吗": the part of the article on the police, not on tickets.
            query = _("report it to your local police")
        elif _HOW_LONG.search(text) and intent == "deposit_not_credited":
            # In a transfer's flow, "how long?" is about confirmations, not about tickets.
            query = _(
                "How many block confirmations does a deposit need, and how long does it take to arrive?"
            )
        elif _LOST.search(text) and intent in ("withdrawal_pending", "withdrawal_failed"):
            query = _("When a withdrawal fails, is the money returned to my balance?")
        elif _HOW_LONG.search(text) and intent in ("withdrawal_pending", "withdrawal_failed"):
            query = _("How long does a withdrawal take to be processed and confirmed?")
        queries = [*queries_extra, query]
        if query == text and intent in INTENT_LABELS and not queries_extra:
            # "那怎么办" / "so what do I do?" / "改了密码多久之后可以提币？": the question is
            # (also) the topic's; the better-scoring reading wins.
            queries.append(f"{INTENT_LABELS[intent]} {text}")
        best = None
        own = None
        for candidate in queries:
            try:
                answer = answers.answer_question(
                    candidate, language=self.ui, intent=intent, asked=text if candidate.endswith(text) else None
                )
            except Exception:  # an answer must never break the conversation
                logger.exception("answer_question failed")
                continue
            if answer is not None and (best is None or answer.score > best.score):
                best = answer
            if candidate == text:
                own = answer
        if best is None:
            return None
        if (
            own is not None
            and own is not best
            and own.score >= answers.MIN_SCORE
            and _slug(own.article_url) != _slug(best.article_url)
            and _QUESTION.search(text)
        ):
            # A new question that the articles answer in its own words ("how do I move it to Spot?"
            # during a deposit) is answered as asked, not as the topic's name would read it.
            best = own

        tagged = {article.slug for article in self._articles(intent)} if intent else set()
        if (
            own is not None
            and own is not best
            and _slug(own.article_url) in tagged
            and _same_kind_of_question(own.section, text)
            and not _same_kind_of_question(best.section, text)
        ):
            # The customer's own words found the section that answers their kind of question
            # ("how long…?" → "How long does it take?") in the topic's article: it answers.
            return own
        if best.score >= answers.MIN_SCORE:
            return best
        # Below the bar, the passage still counts when two signals agree: it comes from an
        # article the help centre tags with the intent the engine is sure of.
        if best.score >= RELATED_MIN_SCORE and _slug(best.article_url) in tagged:
            return best
        if _slug(best.article_url) in tagged and _same_kind_of_question(best.section, text):
            # "Submitted my ID this morning, roughly how long until it's approved?": many words
            # the article lacks, but its section "How long does it take?" in the intent's
            # article answers exactly the kind of question asked.
            return best
        return None

    def _article_steps(self, intent: str) -> tuple[str, list[ArticleLink]] | None:
        found = self._articles(intent)
        if not found:
            return None
        first = found[0]
        steps = list(first.key_steps or [])[:2]
        if not steps:
            return None
        link = self._link(first)
        text = "\n".join(line for line in (" ".join(steps), self._link_line(first.title, link.url)) if line)
        return text, [link]

    def _next_step_after(self, intent: str) -> str:
        if intent in _TRANSFER_INTENTS:
            return _(
                "Next step: find the transaction hash (TxID) in the sending wallet or platform and look it up "
                "in a block explorer. If it is confirmed there but not credited here, I can pass it to a human "
                "with your details."
            )
        return _(
            "I have shared what our help centre says about this. If it did not settle it, I can pass "
            "it to a human with everything you told me — just say so."
        )

    def _facts(self, intent: str | None) -> list[Any]:
        """What Kefu knows (announcements first, the customer's records), each said once."""
        try:
            from kefu.bot import facts
        except ImportError:
            return []
        try:
            found = facts.facts_for(
                customer=self.customer,
                intent=intent,
                slots=understand.public(self.state.get("slots") or {}),
                language=self.ui,
            )
        except Exception:
            logger.exception("facts_for failed")
            return []
        said: list[str] = self.state.setdefault("facts_said", [])
        new = [f for f in found if f.text not in said]
        said.extend(f.text for f in new)
        self.grounding.extend(f.text for f in new)
        return new

    # --- guided flows ------------------------------------------------------------------

    def _flow(
        self, flow: str, text: str, *, confidence: float | None = None, found: dict[str, str]
    ) -> BotReply:
        """Collect what is missing, one question at a time; facts and answers first."""
        lines = self._prefix()
        filled = self.state.setdefault("slots", {})
        bad_hash = self.state.pop("txid_problem", None)
        if digits := self.state.pop("txid_length", None):
            lines.append(
                _(
                    "That transaction hash has {n} hex digits instead of 64; I have noted it as you sent it, "
                    "but please double-check it in the sending wallet."
                ).format(n=digits)
            )
        if bad_hash:
            lines.append(
                _("That hash does not look like a {network} transaction hash; please check it.").format(
                    network=filled.get("network", "")
                )
            )
        for slot in flows.FLOWS[flow]:
            if slot in ("otp_method", "error") and slot not in filled:
                if value := flows.extract_extra(slot, text, loose=slot == self.state.get("asking")):
                    filled[slot] = found[slot] = value
        understood = self._understood(found)
        if understood:
            lines.append(understood)
        lines += self._memo_advice()
        facts = self._facts(flow)
        lines += [f.text for f in facts]
        records = [
            f.text for f in facts if f.kind in ("deposit", "withdrawal") and not _NOTHING_FOUND.search(f.text)
        ]
        restated = False
        if records:
            self.state["records_said"] = records
        elif self.state.get("records_said") and _ANYTHING_TO_DO.search(text) and not found.keys() & _FLOW_DETAILS:
            # "So do I need to do anything?" after the customer's own records were said: what
            # they say is the answer (credited automatically, sent on-chain…), not an article.
            lines.append(_("As I said: {text}").format(text=" ".join(self.state["records_said"])))
            restated = True
        if (
            filled.get("tx_hash")
            and self.customer is not None
            and not self.state.get("diagnosed") == filled["tx_hash"]
        ):
            diagnosis = self._diagnose(flow, filled)
            self.state["diagnosed"] = filled["tx_hash"]
            if diagnosis and diagnosis not in lines:
                lines.append(diagnosis)
            if self.state.get("diagnosis") in _AGENT_MUST_CHECK and not self.handed:
                # The diagnosis says an agent will check it: then one must — open the case now.
                reply = self._handoff(reason="unsolved", intent=flow)
                reply.text = "\n".join([*[line for line in lines if line], reply.text])
                return reply
        asking = self.state.get("asking")
        if asking and not found and not bad_hash and not facts and not _FOLLOW_UP.search(text):
            if slots.SKIP_WORDS.match(text) or text == _("I don't know"):
                self.state.setdefault("skipped", []).append(asking)
            elif flow == self.state.get("flow_seen") and not understood:
                self.state["misses"] = self.state.get("misses", 0) + 1
                if self.state["misses"] >= FAILURES_BEFORE_HANDOFF:
                    self.state.setdefault("skipped", []).append(asking)
                    self.state.pop("asking", None)
                    return self._offer_human(lines, intent=flow)
                lines.append(_("Sorry, I didn't catch that."))
        starting = self.state.get("flow_seen") != flow
        self.state["flow_seen"] = flow
        if any(
            f.kind in ("deposit", "withdrawal", "diagnosis") and not _NOTHING_FOUND.search(f.text)
            for f in facts
        ):
            self.state["records_seen"] = flow  # the customer's records answer it: no more questions
        record_facts = self.state.get("records_seen") == flow
        next_slot = None if record_facts or self.handed else self._next_slot(flow)
        follow_up = bool(_FOLLOW_UP.search(text))
        announced = [f.text for f in facts if f.kind == "announcement"]
        if announced:
            self.state["announced"] = announced
        elif self.state.get("announced") and (follow_up or found.keys() & {"coin", "network"}):
            lines.append(self._announcement_again(when=bool(_HOW_LONG.search(text)), text=text))
            restated = follow_up and not _own_question(text)
        if (follow_up or starting or next_slot is None) and not restated:
            answer = self._find_answer(text, flow)
            if answer is not None and answer.text != self.state.get("last_answer"):
                lines.append(answer.text)
                lines.append(self._more(answer))
                self.state["last_answer"] = answer.text
                self.grounding.append(answer.text)
            elif (next_slot is None or follow_up) and not facts and not lines:
                # Nothing new to say to "what now?": the next step, not silence.
                lines.append(self._next_step_after(flow))
        if next_slot is None and self.state.get("flow_done") != flow and not self.handed:
            # Everything asked: the customer says whether it helped ("no" hands it to a human).
            self.state["flow_done"] = flow
            self.state["awaiting_feedback"] = flow
            lines.append(_("Did this solve your problem?"))
            self.state.pop("asking", None)
            return self._say(
                "\n".join(line for line in lines if line),
                intent=flow,
                confidence=confidence,
                quick_replies=[_("Yes, solved"), _("No, talk to a human")],
            )
        if next_slot is not None:
            self.state["asking"] = next_slot
            question = self._question(next_slot, flow)
            if question in self.state.get("last_reply", ""):
                question = _("(Still open: {detail}.)").format(detail=flows.slot_label(next_slot))
            lines.append(question)
            self.asked = True
            quick = [_("I don't know"), _("Talk to a human")]
        else:
            self.state.pop("asking", None)
            quick = [_("Talk to a human")] if not self.handed else []
        if not lines:
            lines.append(self._next_step_after(flow))
        return self._say(
            "\n".join(line for line in lines if line), intent=flow, confidence=confidence, quick_replies=quick
        )

    def _memo_advice(self) -> list[str]:
        """A memo/tag coin deposited without its memo: say once that it can be recovered, and how."""
        filled = self.state.get("slots") or {}
        if filled.get("memo") != "missing" or filled.get("coin") not in understand.MEMO_COINS:
            return []
        if self.state.get("memo_advised"):
            return []
        if "amount" not in filled and "tx_hash" not in filled and "time" not in filled:
            return []  # first the details the team needs to match it
        self.state["memo_advised"] = True
        return [
            _(
                "A deposit without its {kind} can usually still be recovered: our team matches it by hand. "
                "File a ticket (or talk to a human) with the transaction hash, amount and time."
            ).format(kind=understand.MEMO_COINS[filled["coin"]])
        ]

    def _announcement_again(self, *, when: bool, text: str = "") -> str:
        """The announcement said before, in other words: that it applies, or when it ends."""
        times = sorted(set(_CLOCK_TIME.findall(" ".join(self.state.get("announced") or []))))
        affected = _(
            "This is affected by the maintenance announced above: once it ends your transfer is processed "
            "automatically — please wait for it, there is no need to send it again."
        )
        if times and (when or affected in self.state.get("last_reply", "")):
            return _(
                "As announced, this is expected to be back to normal by {time}; your transfer is then "
                "processed automatically — please wait for it, there is no need to send it again."
            ).format(time=" / ".join(times))
        if _SAFE_WORRY.search(text):
            return _(
                "Your funds are safe: a transfer sent during the announced maintenance is not lost and there "
                "is no need to send it again; it is processed automatically once the maintenance ends."
            )
        if affected in self.state.get("last_reply", ""):
            # Said already: the same point in other words (never the same paragraph twice).
            return _(
                "There is nothing you need to do: when the announced maintenance ends, your transfer is "
                "credited automatically."
            )
        return affected

    def _next_slot(self, flow: str) -> str | None:
        filled = self.state.get("slots") or {}
        skipped = set(self.state.get("skipped", []))
        for slot in flows.FLOWS[flow]:
            if slot in filled or slot in skipped:
                continue
            if slot == "network":
                coin = filled.get("coin", "")
                if filled.get("tx_hash"):
                    continue  # the hash is looked up on every network it could be on
                if coin in understand.COIN_NETWORKS and len(understand.COIN_NETWORKS[coin]) == 1:
                    continue
            if slot == "memo" and (
                filled.get("coin") not in understand.MEMO_COINS or not flow.startswith("deposit")
            ):
                continue
            return slot
        return None

    def _question(self, slot: str, flow: str) -> str:
        filled = self.state.get("slots") or {}
        if slot == "network" and filled.get("coin") in understand.COIN_NETWORKS:
            networks = understand.COIN_NETWORKS[filled["coin"]]
            return _("Which network did you use for {coin}: {networks}?").format(
                coin=filled["coin"], networks=" / ".join(networks)
            )
        if slot == "memo":
            return _("Did you fill in the {kind} ({coin} deposits need it)? If so, what was it?").format(
                kind=understand.MEMO_COINS[filled["coin"]], coin=filled["coin"]
            )
        return flows.question_for(slot)

    def _understood(self, found: dict[str, str]) -> str:
        """One line confirming what this message told us, instead of asking again."""
        shown = [
            (k, v)
            for k, v in found.items()
            if k in ("coin", "network", "amount", "time", "tx_hash", "address", "memo")
        ]
        if len(shown) < 2 and not (shown and self.state.get("asking") == shown[0][0]):
            return ""
        parts = []
        for key, value in shown:
            if key == "tx_hash" or key == "address":
                value = value[:10] + "…" + value[-6:]
            if key == "memo":
                value = {"missing": _("not filled in"), "provided": _("filled in")}.get(value, value)
            parts.append(f"{flows.slot_label(key)} {value}")
        return _("Noted: {details}.").format(details=" · ".join(parts))

    def _diagnose(self, flow: str, filled: dict[str, str]) -> str:
        """A chain/records check where the wallet integration provides one."""
        try:
            from kefu.wallet.diagnosis import diagnose_for_bot
        except ImportError:
            return ""
        try:
            result = diagnose_for_bot(
                customer=self.customer,
                coin=filled.get("coin", ""),
                network=filled.get("network", ""),
                tx_hash=filled["tx_hash"],
                language=self.ui,
                kind="withdrawal" if flow.startswith("withdrawal") else "deposit",
            )
        except Exception:  # a diagnosis must never break the conversation
            return ""
        self.state["diagnosis"] = getattr(result, "verdict", "")
        return "\n".join(part for part in (result.message, getattr(result, "next_step", "")) if part)

    # --- scams, secrets ---------------------------------------------------------------------

    def _channel_check(self, intent: str, text: str, *, confidence: float | None) -> BotReply:
        """ "Is @x really your support?": the official-channel registry answers, plainly."""
        lines = self._prefix()
        fact = None
        try:
            from kefu.bot import facts

            fact = facts.check_channel(text, language=self.ui)
        except Exception:
            logger.exception("check_channel failed")
        if fact is not None:
            lines.append(fact.text)
            self.grounding.append(fact.text)
        if (intent == "scam_report" or fact is None) and not self.state.get("scam_warned"):
            self.state["scam_warned"] = True
            lines.append(
                _(
                    "Anyone who asks you to move coins to a “safe account”, pay an “unfreezing fee” or hand "
                    "over your seed phrase, private key or codes is a scammer — our staff never do that."
                )
            )
            lines.append(_("Don't pay or transfer anything to them, and stop replying to them."))
        if _REMOTE_ACCESS.search(fold_cantonese(text)):
            lines.append(self._remote_warning())
        if fact is None and (official := self._official_channels()):
            lines.append(official)
        if fact is None:
            answer = self._find_answer(text, intent)
            if answer is not None and answer.text != self.state.get("last_answer"):
                lines.append(answer.text)
                lines.append(self._more(answer))
                self.state["last_answer"] = answer.text
        if self.state.get("last_reply") and "\n".join(lines) == self.state["last_reply"]:
            lines.append(
                _(
                    "If you have sent them money or secrets, tell me and I will hand this to our security team."
                )
            )
        return self._say(
            "\n".join(lines), intent=intent, confidence=confidence, quick_replies=[_("Talk to a human")]
        )

    def _official_channels(self) -> str:
        try:
            from kefu.trust.selectors import official_channels
        except ImportError:
            return ""
        rows = list(official_channels()[:8])
        if not rows:
            return ""
        listed = "; ".join(f"{row.get_kind_display()}: {row.value}" for row in rows)
        return _("Our official channels: {channels}.").format(channels=listed)

    def _secret(self, guarded: guard.ScanResult, *, asking: str | None) -> BotReply:
        # The same rule as tickets.actions.guard_texts: a bare 64-hex hidden only because
        # nothing could settle it (most are TRON/BTC txids) does not make a security case.
        if not guarded.unsettled_hex or guarded.leaked_key:
            self.state["secret_seen"] = True
        self._log_customer(guarded.redacted)
        if guarded.unsettled_hex and not guarded.leaked_key:
            found = self._remember(guarded.redacted, asking=asking)
            topic = self._topic()
            # Perhaps a hash nothing could check (e.g. TRON): the warning says why it was hidden.
            # It was given, so it is not asked for again; the explorer link is an alternative.
            lines = [
                _(
                    "I hid that 64-character code because it could also be a private key. If it is your "
                    "transaction hash, its block-explorer link works just as well."
                )
            ]
            if topic in flows.FLOWS:
                understood = self._understood(found)
                if understood:
                    lines.insert(0, understood)
                skipped = self.state.setdefault("skipped", [])
                if "tx_hash" not in skipped:
                    skipped.append("tx_hash")
                next_slot = self._next_slot(topic)
                if next_slot:
                    self.state["asking"] = next_slot
                    lines.append(self._question(next_slot, topic))
                    self.asked = True
                else:
                    self.state.pop("asking", None)
            else:
                self.state.pop("asking", None)
                if topic in flows.RECOVERED_BY_HAND and not self.handed:
                    # The hash is in (hidden, as it could be a key): recovering the deposit is the team's turn.
                    reply = self._handoff(reason="unsolved", intent=topic)
                    reply.text = "\n".join([*lines, reply.text])
                    reply.secret_warning = guard.warning_for(guarded, language=self.ui)
                    return reply
            reply = self._say("\n".join(lines), intent=topic, quick_replies=[_("Talk to a human")])
            reply.secret_warning = guard.warning_for(guarded, language=self.ui)
            return reply
        text = _(
            "I have hidden what looked like a seed phrase or private key from your message. "
            "Never share it with anyone — we will never ask for it. If it was real, treat it as exposed: "
            "move your funds to a new wallet with a new seed phrase now."
        )
        if self.state.get("last_reply", "").startswith(text[:20]):
            text = _("I hid that again. Please do not send seed phrases or private keys here.")
        if not self.handed:
            # A seed phrase or key that reached us is exposed: a security matter on every
            # channel (a case filed by mail, the portal or the API goes to the security team
            # at once), so the bot gives the steps and opens the case to that team, urgent.
            reply = self._handoff(reason="urgent", intent="account_compromised")
            reply.text = text + "\n" + reply.text
            reply.secret_warning = guard.warning_for(guarded, language=self.ui)
            return reply
        reply = self._say(text, quick_replies=[_("Talk to a human")])
        reply.secret_warning = guard.warning_for(guarded, language=self.ui)
        return reply

    def _while_you_wait(self) -> BotReply:
        """A stolen account with our security team: what the customer can do now, plainly."""
        lines = [
            _(
                "While our security team looks at it: freeze your account (Security Center → Freeze account, "
                "or on the sign-in screen), then from a device you trust change your password, reset your "
                "authenticator (2FA), sign out unknown devices and delete withdrawal addresses you don't know. "
                "Never give anyone your codes, password or seed phrase."
            )
        ]
        if status := self._handed_status():
            lines.append(status)
        return self._say("\n".join(lines), intent="account_compromised")

    def _remote_warning(self) -> str:
        return _(
            "Our staff never ask you to install a remote-access app (AnyDesk, TeamViewer…) or to share your "
            "screen. Don't install it; if you already did, uninstall it now."
        )

    def _remote_access(self, text: str, *, intent: str | None) -> BotReply:
        """Someone had remote control of the customer's device or saw their screen: they may have
        seen passwords, codes or the seed. Cut them off, secure the account, hand it over."""
        lines = []
        try:
            from kefu.bot import facts

            fact = facts.check_channel(text, language=self.ui)
        except Exception:
            logger.exception("check_channel failed")
            fact = None
        if fact is not None:
            lines.append(fact.text)
        lines.append(
            _(
                "Act now: disconnect that device from the internet, then close and uninstall the remote-access "
                "app. From another device you trust, change your password, reset your authenticator (2FA) and "
                "check your withdrawal addresses. If a wallet's seed phrase was on that screen, move its funds "
                "to a new wallet now."
            )
        )
        if self.handed:
            if status := self._handed_status():
                lines.append(status)
            return self._say("\n".join(lines), intent="account_compromised")
        reply = self._handoff(reason="urgent", intent="account_compromised")
        reply.text = "\n".join([*lines, reply.text])
        return reply

    def _seed_freeze(self, intent: str | None) -> BotReply:
        """Asked about freezing after the seed leaked: freezing does not help, moving does."""
        return self._say(
            _(
                "Freezing your account here can't protect a leaked seed phrase: whoever has it can move "
                "the funds from any device. Move everything to a new wallet with a new seed phrase now."
            ),
            intent=intent,
            quick_replies=[] if self.handed else [_("Talk to a human")],
        )

    def _phished(self, intent: str | None, text: str) -> BotReply:
        """Sign-in details typed into a phishing page: plain urgent steps, a human on request."""
        if _SEED_WORDS.search(text):
            return self._seed_leaked(text)  # the seed typed into the page: it is the scammer's now
        lines = [
            _(
                "Act now: change your password in the official app (not from that link), reset your "
                "authenticator (2FA), sign out all other devices and check your login history and "
                "withdrawal addresses. If you see a withdrawal you did not make, tell me and I will pass it "
                "to our security team at once."
            )
        ]
        if self.handed and (status := self._handed_status()):
            lines.append(status)
        return self._say(
            "\n".join(lines), intent=intent, quick_replies=[] if self.handed else [_("Talk to a human")]
        )

    def _seed_exposed(self, intent: str | None) -> BotReply:
        """The seed phrase sits in a screenshot, a synced album, a notes app or a mailbox: nobody
        is known to have it, but it is exposed — a new wallet, the funds moved, the copies deleted."""
        self.state["topic"] = "seed_phrase_safety"
        if self.state.get("seed_exposed"):
            text = _(
                "Then treat that seed phrase as leaked: anything synced online can be read by whoever gets into "
                "that account. Create the new wallet and move your funds now, before anything else."
            )
        else:
            text = _(
                "Yes, it matters: a seed phrase kept in a screenshot, a photo album, a notes app or a mailbox "
                "counts as exposed. Create a new wallet with a new seed phrase, write that one on paper only, and "
                "move your funds to it; then delete the old screenshots and copies everywhere, the cloud's "
                "recently-deleted folder included."
            )
        self.state["seed_exposed"] = True
        return self._say(text, intent="seed_phrase_safety", quick_replies=[_("Talk to a human")])

    def _seed_leaked(self, text: str) -> BotReply:
        """Someone else has the seed: only moving the funds protects them."""
        self.state["seed_leaked"] = True
        steps = _(
            "Act now: create a new wallet with a new seed phrase on a device you trust and move everything "
            "to it immediately. Freezing your account does not protect a leaked seed phrase — whoever has it "
            "can move the funds from any device. Revoke token approvals, and never share the new seed with anyone."
        )
        if self.handed:
            return self._say(steps, intent="seed_phrase_safety", quick_replies=[_("Talk to a human")])
        reply = self._handoff(reason="urgent", intent="account_compromised")
        reply.text = steps + "\n" + reply.text
        return reply

    def _code_requested(self, intent: str | None) -> BotReply:
        """Someone wants the customer's code or password: never give it, stop, secure the account."""
        text = _(
            "Do not give that code to anyone — not even to someone calling from a number that looks like ours "
            "(caller ID can be faked). Our staff never ask for verification codes, passwords, seed phrases or "
            "private keys. Hang up or stop replying now. If you already gave it, change your password, check "
            "your signed-in devices and freeze your account at once, then tell me here."
        )
        return self._say(text, intent="scam_report", quick_replies=[_("Talk to a human")])

    def _miss(self, text: str, *, intent: str | None, confidence: float | None = None) -> BotReply:
        """Not understood: after two misses in a row, offer a human or a ticket (a way out)."""
        self.state["misses"] = self.state.get("misses", 0) + 1
        if text in self.state.get("last_reply", ""):
            text = _("That is outside what I can help with as well, sorry.")
        if self.state["misses"] >= FAILURES_BEFORE_HANDOFF and not self.handed:
            return self._offer_human([text], intent=intent, confidence=confidence)
        if self.handed:
            text = text + " " + self._handed_status()
        return self._say(text, intent=intent, confidence=confidence, quick_replies=[_("Talk to a human")])

    def _offer_human(
        self, lines: list[str], *, intent: str | None, confidence: float | None = None
    ) -> BotReply:
        lines = [
            *lines,
            _(
                "I don't seem to be getting this right. Would you like me to pass this to a human, or file a ticket for you?"
            ),
        ]
        return self._say(
            "\n".join(line for line in lines if line),
            intent=intent,
            confidence=confidence,
            quick_replies=[_("Talk to a human")],
        )

    # --- feedback, clarifying -------------------------------------------------------------

    def _feedback(self, text: str) -> BotReply | None:
        """The answer to "Did this solve your problem?" at the end of a guided flow."""
        intent = self.state.pop("awaiting_feedback", None)
        if text == _("Yes, solved") or (_YES.match(text) and len(text) <= 20):
            self._log_customer(text, intent="thanks")
            self.state["misses"] = 0
            return self._say(_("Glad that helped! Anything else?"), intent="thanks")
        if text == _("No, talk to a human") or (
            _NO.match(text) and len(text) <= 20 and not _FOLLOW_UP.search(text)
        ):
            self._log_customer(text, intent=intent)
            return self._handoff(reason="unsolved", intent=intent)
        return None

    def _match_option(self, text: str, options: list[str]) -> str | None:
        for option in options:
            if text.strip() == str(INTENT_LABELS[option]):
                return option
        return None

    # --- hand-off ----------------------------------------------------------------------

    def _handoff(self, *, reason: str, intent: str | None = None) -> BotReply:
        intent = intent or self._topic() or self.state.get("last_intent")
        if intent and intent not in SMALLTALK | {OUT_OF_SCOPE, "contact_human"}:
            self.state["topic"] = intent  # follow-ups after the hand-off are about it
        details = self._details_line()
        if self.handed and self.current is not None:
            return self._say(self._handed_status(again=True), intent=intent, handoff=self.current.payload())
        urgent = intent in URGENT_INTENTS
        from kefu.bot.handoff import do_handoff, live_available

        security = bool(self.state.get("secret_seen"))
        if (
            self.customer is None
            and not urgent
            and not self.replies_here
            and live_available(intent=intent, language=self.conversation.language, security=security)
        ):
            # A live chat binds an agent, a queue place and a rating to a known customer: sign
            # in for it. With nobody to chat now (or an urgent topic), the case opens to the
            # team at once, customer unknown (see below).
            self.state["pending_handoff"] = True
            reply = self._say(
                _("To connect you with an agent, please sign in first — your conversation will be kept."),
                intent=intent,
            )
            reply.needs_sign_in = True
            return reply
        from kefu.accounts import ratelimit

        try:
            # Each hand-off opens a case to the team or a chat: the same allowance as the
            # portal's (a new bot conversation per message would otherwise file tickets
            # unlimited); a signed-out visitor's counts against their address.
            ratelimit.check_creation("ticket", user=self.customer, ip=self.ip_address)
        except ratelimit.RateLimited as exc:
            return self._say(exc.message, intent=intent)
        result = do_handoff(
            conversation=self.conversation,
            customer=self.customer,
            intent=intent,
            slots=self.state.get("slots", {}),
            reason=reason,
            security=security,
            live=not self.replies_here,
        )
        self.conversation.status = ConversationStatus.HANDED_OFF
        self.handoff_reason = reason
        self.state.pop("pending_handoff", None)
        self.state.pop("asking", None)
        parts = []
        if reason == "complaint" and intent not in URGENT_INTENTS:
            parts.append(
                _("I'm sorry about your experience. I have recorded this as a complaint, to be handled with priority.")
            )
        if intent in URGENT_INTENTS:
            assert result.ticket is not None  # urgent topics always get a case at once
            parts.append(
                _(
                    "This is urgent, so I have passed it to our security team right away (case {case}). "
                    "If your account may be stolen, freeze it now, change your password and reset your "
                    "authenticator (2FA). We will never ask for your seed phrase, private key or codes."
                ).format(case=result.ticket.case_number)
            )
        elif result.chat is None and self.replies_here:
            assert result.ticket is not None
            parts.append(
                _(
                    "I have passed your conversation to our support team — you won't need to repeat anything. "
                    "Your case number is {case}. An agent will reply here in this chat."
                ).format(case=result.ticket.case_number)
            )
        elif result.chat is None and self.customer is None:
            assert result.ticket is not None
            parts.append(
                _(
                    "I have passed your conversation to our support team — you won't need to repeat anything. "
                    "Your case number is {case}. Sign in to follow the case and read the agent's reply: "
                    "your conversation will be kept."
                ).format(case=result.ticket.case_number)
            )
        elif result.chat is None:
            assert result.ticket is not None
            parts.append(
                _(
                    "I have passed your conversation to our support team — you won't need to repeat anything. "
                    "Your case number is {case}. An agent will reply in your ticket."
                ).format(case=result.ticket.case_number)
            )
        else:
            parts.append(
                _("I have connected you to the queue for a human agent — you won't need to repeat anything.")
            )
        if details:
            parts.append(details)
        filled = self.state.get("slots") or {}
        if intent in _TRANSFER_INTENTS and not filled.get("tx_hash") and "tx_hash" not in self.state.get("skipped", []):
            # The one detail that finds a transfer on the chain: ask for it with the hand-off.
            parts.append(
                _("If you have the transaction hash (TxID), send it here: it lets the team find your transfer faster.")
            )
        if result.chat is not None:
            parts.append(self._wait_text(result.wait))
            if not result.in_chat:
                parts.append(_("Open live chat to continue with the agent."))
        else:
            parts.append(_("You can keep asking me questions here meanwhile."))
        return self._say(" ".join(p for p in parts if p), intent=intent, handoff=result.payload())

    def _details_line(self) -> str:
        filled = {
            k: v
            for k, v in (self.state.get("slots") or {}).items()
            if k in ("coin", "network", "amount", "time", "tx_hash", "address", "memo")
        }
        if not filled:
            return ""
        parts = []
        for key, value in filled.items():
            if key in ("tx_hash", "address"):
                value = value[:10] + "…" + value[-6:]
            if key == "memo":
                value = {"missing": _("not filled in"), "provided": _("filled in")}.get(value, value)
            parts.append(f"{flows.slot_label(key)} {value}")
        return _("Details passed on: {details}.").format(details=" · ".join(parts))

    def _handed_status(self, *, again: bool = False) -> str:
        current = getattr(self, "current", None)
        if current is None:
            return ""
        if current.chat is not None:
            return _("You are in live chat with our support team now. Please continue there.")
        assert current.ticket is not None
        if again:
            return _(
                "Your case {case} is already with our support team; an agent will reply in the ticket. "
                "You don't need to open another one."
            ).format(case=current.ticket.case_number)
        return _("(Your case {case} stays open with our support team.)").format(
            case=current.ticket.case_number
        )

    def _wait_text(self, wait: Any) -> str:
        if wait is None:
            return ""
        if wait.agent_free:
            return _("An agent will join the chat in a moment.")
        if wait.eta_seconds is not None:
            return _("You are number {n} in the queue; the estimated wait is about {m} min.").format(
                n=wait.position, m=max(1, math.ceil(wait.eta_seconds / 60))
            )
        return _("You are number {n} in the queue.").format(n=wait.position)

    # --- helpers -----------------------------------------------------------------------

    def _guard(self, text: str, *, asking_tx_hash: bool) -> guard.ScanResult:
        found = self.prepared.guards.get((text, asking_tx_hash))
        if found is None:
            found = _scan(text, asking_tx_hash=asking_tx_hash, language=self.conversation.language)
        return found

    def _predict(self, text: str):
        found = self.prepared.predictions.get(text)
        return found if found is not None else _predict(text)

    def _articles(self, intent: str) -> list:
        found = self.prepared.articles.get(intent)
        return list(found) if found is not None else _related_articles(intent, self.ui)

    def _link(self, article) -> ArticleLink:
        return ArticleLink(
            slug=article.slug, title=article.title, url=reverse("helpcenter:article", args=[article.slug])
        )

    def _announcements_text(self) -> str:
        try:
            from kefu.helpcenter.selectors import active_announcements
        except ImportError:
            return ""
        items = list(active_announcements())
        if not items:
            return _("There is no maintenance or incident announced right now.")
        english = self.ui == "en"
        lines = [_("Current announcements:")]
        for item in items[:5]:
            lines.append("· " + (item.title_en if english else item.title_zh))
        return "\n".join(lines)

    def _brand(self) -> str:
        from django.conf import settings

        return settings.KEFU_BRAND_NAME

    def _log_customer(self, text: str, *, intent: str | None = None, confidence: float | None = None) -> None:
        """The customer's message (guarded) in the case's thread, with what the bot understood."""
        extra: dict[str, Any] = {}
        if intent:
            extra["intent"] = intent
        if confidence is not None:
            extra["confidence"] = round(float(confidence), 4)
        thread.append(
            self.case,
            body=text,
            sender=Sender.CUSTOMER,
            author=self.customer,
            channel=self.case.channel,
            extra=extra,
        )
        stages.note_first_words(self.case, text)

    def _say(
        self,
        text: str,
        *,
        intent: str | None = None,
        confidence: float | None = None,
        quick_replies: list[str] | None = None,
        articles: list[ArticleLink] | None = None,
        handoff: dict[str, Any] | None = None,
    ) -> BotReply:
        if handoff is None and self.handed and getattr(self, "current", None) is not None:
            handoff = self.current.payload()  # the widget keeps showing where the case is
        previous = self.state.get("last_reply") or ""
        if handoff is None or self.handed:
            # Never the same block twice in a row: a long line said in the previous reply is left out.
            kept = [line for line in text.split("\n") if len(line) < 40 or line not in previous]
            if kept != text.split("\n"):
                text = (
                    "\n".join(kept)
                    if any(line.strip() for line in kept)
                    else self._next_step_after(intent or "")
                )
        if text == previous or not text.strip():
            status = self._handed_status() if self.handed else ""
            text = (text + "\n" if text.strip() else "") + (
                status or _("(I know I said this already — a human can help further.)")
            )
        asking = self.state.get("asking") if self.asked and not self.handed else None
        return BotReply(
            conversation_id=str(self.conversation.public_id),
            text=text,
            intent=intent,
            confidence=confidence,
            quick_replies=[str(q) for q in quick_replies or []],
            articles=articles or [],
            handoff=handoff,
            asking=PUBLIC_SLOT.get(asking, asking) if asking else None,
        )


def _about_the_bot(text: str) -> str | None:
    """The answer to "are you a bot?" / "can you speak Chinese?", or None (not such a question,
    or one that also asks for a human: "你是机器人吗？我要真人")."""
    if _BOT_QUESTION.search(text):
        rest = _BOT_QUESTION.sub(" ", text)
        if _HUMAN.search(rest) or _ESCALATE.search(rest):
            return None
        return _(
            "I'm the assistant — a bot, not a person. I can answer most questions right here; if you "
            "would rather talk to a human, just say so."
        )
    if _LANGUAGE_QUESTION.search(text):
        rest = _LANGUAGE_QUESTION.sub(" ", text)
        if _HUMAN.search(rest) or _ESCALATE.search(rest):
            return None
        return _(
            "Yes — I answer in Chinese (simplified or traditional) and in English: just write in the "
            "language you prefer."
        )
    return None


_QUESTION = re.compile(r"[?？]|\b(?:how|what|where|why|when|can i|should i)\b|怎么|怎麼|如何|哪里|哪裡|为什么|為什麼|吗|嗎|呢", re.I)
_SENTENCE_END = re.compile(r"(?<=[。！？])|(?<=[.!?])\s+")


def _same_kind_of_question(heading: str, text: str) -> bool:
    """Whether a section's heading asks what the customer asks: how long, where, why, how much
    ("how" alone is nearly every request, so it does not count)."""
    from kefu.helpcenter.passages import question_kinds

    return bool(heading) and bool((question_kinds(heading) & question_kinds(text)) - {"how"})


def _own_question(text: str) -> bool:
    """Whether a follow-up asks something of its own beyond "what now / is it safe / how long"
    ("is TRC20 cheaper?" does; "do I need to do anything?" does not)."""
    from kefu.helpcenter import analysis

    rest = _QUESTION.sub(" ", _WHAT_NOW.sub(" ", _FOLLOW_UP.sub(" ", text or "")))
    words = [term for term in analysis.analyze(rest) if len(term) >= 2 and not term.startswith(("#", "~"))]
    return len(words) >= 2


def _first_sentence(text: str) -> str:
    return next((part.strip() for part in _SENTENCE_END.split(text or "") if part.strip()), "")


def _ui_language(language: str | None) -> str:
    return "en" if (language or "").lower().startswith("en") else "zh-hans"


def _reply_language(language: str | None) -> str:
    """Like ``_ui_language``, but a traditional-Chinese browser is answered in traditional."""
    return "zh-hant" if (language or "").lower() == "zh-hant" else _ui_language(language)


def _slug(url: str) -> str:
    parts = [p for p in url.split("#")[0].split("/") if p]
    return parts[-1] if parts else ""


def parse_amount(value: str | None) -> Decimal | None:
    if not value:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None
