"""One module per report: what each report computes and shows, as small named functions.

``segment_value``, ``core_customer_loss``, ``strategy_effectiveness``: each has one function
that computes the report's results from a :class:`~crmresearch.study.Study` (returning a
dataclass with its metrics, summary cards and finding sentences) and one ``show_*`` function per
notebook section.
"""
