"""Write the cohort's subject sheet: one row per subject, one column per map."""
from mrsr.runlog import log_to
from mrsr.sheets import write_sheet

log = log_to(snakemake.log[0])
rows = [
    {"subject": s, **{m: f"{s}/{m}.nii.gz" for m in snakemake.params.maps}} for s in snakemake.params.subjects
]
write_sheet(snakemake.output[0], rows)
log.info("wrote %d subjects", len(rows))
