"""results/provenance.json: the effective config, package versions, commit, Snakemake version, platform."""
import json

from mrsr.io import write_text
from mrsr.provenance import provenance
from mrsr.runlog import log_to

log = log_to(snakemake.log[0])
record = provenance(snakemake.params.config, source=snakemake.params.source)
write_text(snakemake.output[0], json.dumps(record, indent=1) + "\n")
log.info("wrote %s (commit %s)", snakemake.output[0], record["code"]["commit"])
