"""The *reader* part: output sources, the join by ``recordId``, results, accounting (summary),
partitions for clusters, and the export of results to files and frames."""
