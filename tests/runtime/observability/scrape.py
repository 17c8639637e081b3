"""Reading a /metrics answer in tests: parsed with prometheus_client's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition: (sample name, labels) -> value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(parsed: Samples, name: str, **labels: str) -> float:
    """The value of one sample (0 when it is not there yet: a counter not yet incremented)."""
    return parsed.get((name, frozenset(labels.items())), 0.0)


def total(parsed: Samples, name: str, **labels: str) -> float:
    """The sum over samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (sample, got), v in parsed.items() if sample == name and wanted <= got)


def exposed_names(text: str) -> set[str]:
    """The names a PromQL expression may use: families and their samples' names (`_total`,
    `_bucket`, `_count`, `_sum`), also of metrics without samples yet."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}.get(family.type, ())
        names.update(family.name + suffix for suffix in suffixes)
        names.update(sample.name for sample in family.samples)
    return names


def family_names(text: str) -> set[str]:
    """The metric families of an exposition (a counter without its `_total`)."""
    return {family.name for family in text_string_to_metric_families(text)}
