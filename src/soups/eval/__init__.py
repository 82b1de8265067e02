"""Evaluation: CTC decoding, corpus metrics (WER/CER/BLEU) and result tables."""

from soups.eval.ctc_decode import ctc_greedy, ctc_prefix_beam_search, ctc_prefix_beam_search_nbest
from soups.eval.metrics import bleu, cer, score_task, wer
from soups.eval.report import comparison_table, markdown_table, write_csv

__all__ = [
    "bleu",
    "cer",
    "comparison_table",
    "ctc_greedy",
    "ctc_prefix_beam_search",
    "ctc_prefix_beam_search_nbest",
    "markdown_table",
    "score_task",
    "wer",
    "write_csv",
]
