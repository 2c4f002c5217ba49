"""set_up_blas on fake layouts with a recorded timer: keep, time, choose, verify, fall back, revert."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from services.trainer.system.blas import detect_blas
from services.trainer.system.blas_candidates import BlasCandidate, candidate_for
from services.trainer.system.blas_setup import set_up_blas
from services.trainer.system.blas_timing import MatmulTiming
from shared.errors import ConfigError
from tests.trainer.system.blas_layout import BLAS_NAME, fake_mkl, fake_openblas, fake_site, snapshot


class Timer:
    """Answers like time_matmul: per preloaded library, or for the linked layout when nothing is preloaded."""

    def __init__(self, preloaded: dict[str, float | None], linked: float | None = 20.0) -> None:
        self.preloaded, self.linked, self.calls = preloaded, linked, list[str]()

    def __call__(self, site: Path | None = None, *, preload: Sequence[Path] = ()) -> MatmulTiming:
        key = preload[0].name if preload else "linked"
        self.calls.append(key)
        ms = self.preloaded.get(key) if preload else self.linked
        if ms is None:
            raise ConfigError(f"probe of {key} failed", code="blas_probe_failed")
        return MatmulTiming(ms=ms, libraries=(key,))


def both(tmp_path: Path) -> tuple[Path, list[BlasCandidate]]:
    site = fake_site(tmp_path)
    return site, [candidate_for(fake_mkl(tmp_path)), candidate_for(fake_openblas(tmp_path))]


def test_times_both_links_the_chosen_one_and_checks_it(tmp_path: Path) -> None:
    site, candidates = both(tmp_path)
    timer = Timer({"libmkl_rt.so.3": 12.6, "libblas.so.3": 11.0}, linked=12.0)
    result = set_up_blas(site, candidates, timer=timer, timed=True)
    assert timer.calls == ["libmkl_rt.so.3", "libblas.so.3"] * 2 + ["linked"]  # two interleaved rounds
    assert result.chosen is candidates[0] and result.after.kind == "mkl" and result.before.kind == "reference"
    assert (result.timings_ms, result.linked_ms) == ({"mkl": 12.6, "openblas": 11.0}, 12.0)
    assert result.lines()[0] == "mkl (preloaded): 12.6 ms per float32 1024x1024 matmul"
    assert result.lines()[-2:] == ["through the link: 12.0 ms per float32 1024x1024 matmul", result.after.describe()]

    again = Timer({})
    kept = set_up_blas(site, candidates, timer=again)  # a healthy link: nothing timed, nothing changed
    assert again.calls == [] and kept.chosen is None and kept.lines() == [kept.after.describe()]
    forced = set_up_blas(
        site, candidates, timer=Timer({"libmkl_rt.so.3": 40.0, "libblas.so.3": 11.0}), force=True, timed=True
    )
    assert forced.chosen is candidates[1] and forced.after.kind == "openblas"


def test_untimed_by_default_the_documented_order(tmp_path: Path) -> None:
    site, candidates = both(tmp_path)
    timer = Timer({"libmkl_rt.so.3": 40.0, "libblas.so.3": 11.0}, linked=31.0)
    result = set_up_blas(site, candidates, timer=timer)
    assert timer.calls == ["linked"] and result.chosen is candidates[0] and result.timings_ms == {}
    assert result.linked_ms == 31.0 and result.after.kind == "mkl"


def test_a_library_that_fails_is_skipped_or_reverted(tmp_path: Path) -> None:
    site, candidates = both(tmp_path)
    failing_probe = set_up_blas(
        site, candidates, timer=Timer({"libmkl_rt.so.3": None, "libblas.so.3": 11.0}), timed=True
    )
    assert failing_probe.chosen is candidates[1] and "probe of libmkl_rt.so.3 failed" in failing_probe.failures["mkl"]
    assert any(line.startswith("mkl: not usable:") for line in failing_probe.lines())

    site = fake_site(tmp_path / "alone")
    original = snapshot(site / "mlx_cpu.libs")
    broken = set_up_blas(site, candidates[:1], timer=Timer({}, linked=None))  # links, then mlx fails through it
    assert broken.chosen is None and "wheel's files are back" in broken.failures["mkl"]
    assert snapshot(site / "mlx_cpu.libs") == original and broken.after.kind == "reference"


def test_nothing_to_link_and_a_dangling_link(tmp_path: Path) -> None:
    site = fake_site(tmp_path)
    assert set_up_blas(site, [], timer=Timer({})).after.kind == "reference"
    runtime = fake_mkl(tmp_path)
    set_up_blas(site, [candidate_for(runtime)], timer=None)
    assert detect_blas(site_packages=site, environ={}).kind == "mkl"
    for library in runtime.parent.iterdir():  # `pip uninstall mkl`: every link now dangles
        library.unlink()
    result = set_up_blas(site, [], timer=Timer({}))
    assert result.after.kind == "reference" and (site / "mlx_cpu.libs" / BLAS_NAME).read_bytes() == b"reference blas"
    assert not [p for p in (site / "mlx_cpu.libs").iterdir() if p.is_symlink()]


def test_a_library_the_user_linked_is_kept(tmp_path: Path) -> None:
    site, candidates = both(tmp_path)
    (tmp_path / "libblis.so.4").write_bytes(b"blis")
    set_up_blas(site, [candidate_for(tmp_path / "libblis.so.4")], timer=None)
    kept = set_up_blas(site, candidates, timer=Timer({}))
    assert kept.chosen is None and kept.after.kind == "other" and "libblis" in kept.after.describe()
