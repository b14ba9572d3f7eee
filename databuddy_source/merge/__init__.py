"""How this source's tables are merged at the destination, faster than dlt's stock merge and
only for them: the job clients behind ``databuddy_source.destinations.duckdb()`` and
``.postgres()``.

* :mod:`.replace`: a query table's package replaces its slices in one transaction, each row
  written once (the usual case);
* :mod:`.keys`: dlt's staged delete-insert merge with a cheaper delete and dedup pass (the rest);
* :mod:`.duckdb_client`, :mod:`.postgres_client`: the destinations' clients and jobs.

Every table without this source's hint (``x-databuddy-source``) gets dlt's merge unchanged.
"""
