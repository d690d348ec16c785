"""``bench.cluster_scale``'s arithmetic: /proc parsing, memory summed over nodes, ratios (no server)."""

from __future__ import annotations

from bench.cluster_scale import latencies, memory, ratios, vm_rss

MB = 2**20
STATUS = "Name:\tweaviate-server\nVmPeak:\t 900000 kB\nVmRSS:\t  204800 kB\nThreads:\t12\n"


def test_vm_rss_reads_the_resident_line_in_bytes() -> None:
    assert vm_rss(STATUS) == 200 * MB
    assert vm_rss("Name:\tzombie\n") is None
    assert vm_rss("") is None


def test_memory_sums_the_nodes_and_scales_the_growth_to_100k_chunks() -> None:
    before = {"node-00": 100 * MB, "node-01": 100 * MB, "node-02": 100 * MB}
    after = {"node-00": 130 * MB, "node-01": 110 * MB, "node-02": 120 * MB}
    figures = memory(before, after, size=10_000)
    assert figures["rss_mb_total"] == 360
    assert figures["rss_mb_by_node"] == {"node-00": 130, "node-01": 110, "node-02": 120}
    assert figures["rss_mb_per_100k_chunks"] == 600  # (360 - 300) MB for 10k chunks
    assert figures["rss_mb_per_100k_chunks_by_node"] == {"node-00": 300, "node-01": 100, "node-02": 200}


def test_memory_gives_no_total_when_a_node_could_not_be_read() -> None:
    before = {"node-00": 100 * MB, "node-01": None}
    after = {"node-00": 150 * MB, "node-01": 120 * MB}
    figures = memory(before, after, size=50_000)
    assert figures["rss_mb_total"] == 270
    assert figures["rss_mb_per_100k_chunks"] is None  # a partial sum would look like a saving
    assert figures["rss_mb_per_100k_chunks_by_node"] == {"node-00": 100, "node-01": None}
    assert memory({}, {}, size=1)["rss_mb_total"] is None


def test_ratios_divide_each_layout_by_the_single_node() -> None:
    single = {
        "import_chunks_per_s": 400.0, "docduet_p50_ms": 20.0, "docduet_p95_ms": 40.0, "raw_p50_ms": 10.0,
        "raw_p95_ms": 0.0, "rss_mb_total": 300, "rss_mb_per_100k_chunks": None,
    }  # fmt: skip
    replicated = {
        "import_chunks_per_s": 100.0, "docduet_p50_ms": 30.0, "docduet_p95_ms": 100.0, "raw_p50_ms": 15.0,
        "raw_p95_ms": 9.0, "rss_mb_total": 900, "rss_mb_per_100k_chunks": 50,
    }  # fmt: skip
    got = ratios(single, {"replicated": replicated, "sharded": {"import_chunks_per_s": 200.0}})
    assert got["replicated_import_over_single"] == 0.25
    assert got["replicated_p50_over_single"] == 1.5
    assert got["replicated_p95_over_single"] == 2.5
    assert got["replicated_raw_p50_over_single"] == 1.5
    assert got["replicated_rss_over_single"] == 3.0
    assert got["replicated_raw_p95_over_single"] is None  # the single node's is 0
    assert got["replicated_rss_per_100k_over_single"] is None  # the single node's is missing
    assert got["sharded_import_over_single"] == 0.5
    assert got["sharded_p50_over_single"] is None  # the layout's is missing
    assert len(got) == 18


def test_latencies_are_none_for_a_path_that_failed() -> None:
    assert latencies("raw", [0.010, 0.030, 0.020]) == {"raw_p50_ms": 20.0, "raw_p95_ms": 30.0}
    assert latencies("docduet", []) == {"docduet_p50_ms": None, "docduet_p95_ms": None}
