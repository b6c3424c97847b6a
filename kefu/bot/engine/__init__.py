"""Kefu's intent engine: which of the support intents a customer message is about.

Public interface (other apps depend on it; keep it stable)::

    from kefu.bot.engine import IntentEngine, Prediction, default_engine

    engine = default_engine()                 # trained from kefu/bot/data, cached on disk
    prediction = engine.predict("提U一直没到账")
    prediction.intent, prediction.confidence, prediction.ranked

Heavy imports (scikit-learn, jieba, OpenCC) happen on first use, not at import time.
"""

from kefu.bot.engine.default import default_engine
from kefu.bot.engine.intents import INTENTS, OUT_OF_SCOPE
from kefu.bot.engine.model import IntentEngine, Prediction

__all__ = ["INTENTS", "OUT_OF_SCOPE", "IntentEngine", "Prediction", "default_engine"]
