"""benchmarks/gpu_check.py cannot run here (no GPU): its argument parsing, its real-size model
configurations (built on the meta device: shapes only) and a whole run at test sizes on the CPU."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import gpu_check  # noqa: E402


def test_arguments():
    args = gpu_check.parse_args([])
    assert args.engines == list(gpu_check.ENGINES) and args.offloads == list(gpu_check.OFFLOADS)
    assert args.device == "cuda" and args.quality == "normal" and args.steps == 2 and args.budget_s == 450
    assert gpu_check.parse_args(["--tiny", "--device", "cpu", "--offloads", "none"]).quality == "tiny"
    with pytest.raises(SystemExit):
        gpu_check.parse_args(["--device", "cpu"])  # offload modes need CUDA


def test_real_configurations_build_at_their_real_sizes():
    """Every transformer and VAE is the diffusers class at the real configuration (meta device)."""
    sizes = {}
    for name, check in gpu_check.checks().items():
        sizes[name] = gpu_check.parameter_count(*check.transformer) / 1e9
        assert gpu_check.parameter_count(*check.vae) > 50e6
        assert check.rate == gpu_check.Fraction(24000, 1001)
    assert 1.3 < sizes["skyreels-df"] < 1.5  # Wan 1.3B backbone
    assert sizes["skyreels-df"] < sizes["wan-vace"] < 2.3  # plus the VACE blocks
    assert 1.8 < sizes["ltx"] < 2.1  # LTX-Video 2B


def test_a_tiny_run_on_the_cpu(capsys):
    code = gpu_check.main(["--tiny", "--device", "cpu", "--offloads", "none", "--steps", "1"])
    out = capsys.readouterr().out
    assert code == 0
    rows = [line for line in out.splitlines() if line.split()[:2] in (["wan-vace", "none"], ["ltx", "none"])]
    assert len(rows) == 2 and any(line.startswith("skyreels-df") for line in out.splitlines())
    assert all("0.00/0" in line for line in rows)  # each run agrees with itself
    gpu_check.main(["--tiny", "--device", "cpu", "--offloads", "none", "--engines", "ltx", "--budget-s", "0"])
    assert "skipped: past the 0 s budget" in capsys.readouterr().out


@pytest.mark.gpu
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
def test_a_tiny_run_with_every_offload_mode_on_cuda(capsys):
    code = gpu_check.main(["--tiny", "--steps", "1"])
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] and line.split()[0] in gpu_check.ENGINES]
    assert code == 0 and len(rows) == len(gpu_check.ENGINES) * len(gpu_check.OFFLOADS)
    assert all(float(r[3]) > 0 for r in rows)  # a measured peak of GPU memory on every run
