"""The job scripts' shared start (mrsr.jobs.start_job) on a stand-in for Snakemake's `snakemake` object."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import torch
from snakemake.iocontainers import Params, Wildcards

from mrsr.device import Compute
from mrsr.jobs import start_job


def fake_snakemake(tmp_path, wildcards: dict, params: dict, threads: int = 1, gpu: int = 0, config: dict | None = None):
    return SimpleNamespace(log=[str(tmp_path / "logs" / "job.log")], threads=threads, resources={"gpu": gpu},
                           wildcards=Wildcards(fromdict=wildcards), params=Params(fromdict=params),
                           config=config or {})


def test_start_job_reads_threads_device_compute_seed_and_checkpoint_policy(tmp_path, monkeypatch):
    threads = torch.get_num_threads()
    try:
        smk = fake_snakemake(tmp_path, {"seed": "3", "method": "fcn1"},
                             {"compute": {"precision": "bf16", "channels_last": True}}, threads=1,
                             config={"keep_checkpoints": True})
        job = start_job(smk)
        assert torch.get_num_threads() == 1
        assert job.seed == 3 and job.keep_checkpoints is True
        assert job.compute == Compute("bf16", True) and job.device == torch.device("cpu")  # no CUDA here
        job.log.info("hello")
        text = (tmp_path / "logs" / "job.log").read_text()
        assert "seed 3" in text and "hello" in text and "host=" in text
        plain = start_job(fake_snakemake(tmp_path, {}, {}))  # no seed wildcard, no compute: defaults
        assert plain.seed is None and plain.compute == Compute() and plain.keep_checkpoints is False
    finally:
        torch.set_num_threads(threads)
        logging.basicConfig(force=True)  # detach the handler log_to installed
        import sys
        sys.stderr = sys.__stderr__
