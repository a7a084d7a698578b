"""Apply one trained method to the test subjects: dense patches, stitching, metrics (GPU-tagged)."""
from pathlib import Path


from mrsr.experiments.field7to9.evaluate import evaluate, net_predictor
from mrsr.io import save_npz
from mrsr.predictions import PredictionWriter
from mrsr.train import load_model, predict_fn
from mrsr.jobs import start_job

job = start_job(snakemake)
log = job.log
cfg = snakemake.params.cfg
device = job.device
generator, method, meta = load_model(snakemake.input.model, device=device)
compute = job.compute
predict = net_predictor(predict_fn(generator, device, cfg.get("infer_batch", 64), compute), cfg)
containers = {Path(p).stem: p for p in snakemake.input.test}
writer = PredictionWriter(snakemake.output.predictions, "field7to9", snakemake.wildcards.field_method)
metrics, examples, timing = evaluate(predict, containers, cfg, snakemake.wildcards.field_method, writer)
writer.write()
metrics.to_csv(snakemake.output.metrics, sep="\t", index=False)
save_npz(snakemake.output.examples, **examples)
log.info("%d slices in %.2f s; mean PSNR %.2f", timing["n_slices"], timing["predict_seconds"], metrics.psnr.mean())
