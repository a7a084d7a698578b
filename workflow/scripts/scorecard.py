"""Gather every experiment's claims.csv into results/scorecard.{csv,md}."""

from mrsr.io import write_text
from mrsr.runlog import log_to
from mrsr.scorecard import gather, outcome_counts, scorecard_markdown

log = log_to(snakemake.log[0])
frame = gather(list(snakemake.input))
write_text(snakemake.output.csv, frame.to_csv(index=False))
write_text(snakemake.output.md, scorecard_markdown(frame))
log.info("scorecard: %s", outcome_counts(frame))
