"""results/provenance.json: the effective config, package versions, commit, Snakemake version, platform."""
import json

from mrsr.io import write_text
from mrsr.provenance import provenance

record = provenance(snakemake.params.config, source=snakemake.params.source)
write_text(snakemake.output[0], json.dumps(record, indent=1) + "\n")
