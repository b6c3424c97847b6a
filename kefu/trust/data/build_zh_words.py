"""Rebuild ``zh_common_words.txt``, the secret guard's "is this ordinary Chinese?" list.

Nearly every common Chinese character is in the BIP-39 Chinese word lists, so a run of
unspaced Chinese near the word 助记词 can pass the 4-bit checksum of a 12-word phrase by
chance (1 in 16). Ordinary prose is full of common two-character words; a random phrase
almost never is. The guard counts such words in a candidate window and rejects windows that
read like prose.

The list is the most frequent two-character words of jieba's dictionary (MIT licence) whose
both characters are in a BIP-39 Chinese list, plus their traditional forms (OpenCC s2t).
Run from the repository root with the project's virtual environment::

    .venv/bin/python kefu/trust/data/build_zh_words.py
"""

from __future__ import annotations

from pathlib import Path

TOP_WORDS = 25000
# Support-desk vocabulary that a general dictionary ranks low; longer words add their pairs.
DOMAIN_WORDS = """
客服 人工客服 在线客服 客户 用户 账户 账号 帐号 转账 转币 充值 充币 提现 提币 到账 未到账 钱包 冷钱包 热钱包
资产 交易 交易所 地址 助记词 私钥 公钥 密码 验证 验证码 工单 人工 冻结 解冻 手续费 网络 链上 区块 哈希
合约 授权 余额 入金 出金 官方 热线 电话 邮箱 短信 登录 注册 实名 认证 审核 风控 异常 失败 成功 处理 退款
申诉 投诉 升级 排队 等待 回复 联系 安全 诈骗 骗子 假冒 客服热线 官网 网址 链接 下载 更新 版本 闪退 卡顿
截图 订单 单号 备注 标签 主网 测试网 确认 区块浏览器 浏览器 节点 矿工 燃料 额度 限额 汇率 币种 数量 金额
""".split()


def build() -> list[str]:
    import jieba
    import opencc
    from mnemonic import Mnemonic

    chars = set(Mnemonic("chinese_simplified").wordlist) | set(Mnemonic("chinese_traditional").wordlist)
    dictionary = Path(jieba.__file__).with_name("dict.txt")
    ranked: list[tuple[int, str]] = []
    with dictionary.open(encoding="utf-8") as fh:
        for line in fh:
            word, freq, *_ = line.split()
            if len(word) == 2 and word[0] in chars and word[1] in chars:
                ranked.append((int(freq), word))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    to_traditional = opencc.OpenCC("s2t")
    words: set[str] = set()
    pairs = [w[i : i + 2] for w in DOMAIN_WORDS for i in range(len(w) - 1)]
    for word in [w for _, w in ranked[:TOP_WORDS]] + [p for p in pairs if p[0] in chars and p[1] in chars]:
        words.add(word)
        traditional = to_traditional.convert(word)
        if len(traditional) == 2 and traditional[0] in chars and traditional[1] in chars:
            words.add(traditional)
    return sorted(words)


if __name__ == "__main__":
    target = Path(__file__).with_name("zh_common_words.txt")
    target.write_text("\n".join(build()) + "\n", encoding="utf-8")
    print(f"wrote {target}")
