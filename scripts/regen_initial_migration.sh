#!/usr/bin/env bash
# Until the first release the schema has ONE migration: this regenerates it from storage/schema.py
# (keeping the plan seed). After a release, add new alembic revisions instead.
set -e
cd "$(dirname "$0")/.."
M=src/analytics_mcp/storage/migrations/versions/0001_initial_schema.py
SEED=$(python3 -c "
s=open('$M').read(); i=s.index('    plans = sa.table('); j=s.index('def downgrade'); print(s[i:j].rstrip())")
rm -f $M /tmp/gen.db*
.venv/bin/python - <<'PY'
from alembic import command
from analytics_mcp.storage.db import open_database
from analytics_mcp.storage.migrate import alembic_config
db = open_database("sqlite:////tmp/gen.db")
command.revision(alembic_config(db.sync), message="initial schema", autogenerate=True, rev_id="0001")
PY
SEED="$SEED" python3 - <<'PY'
import os
p="src/analytics_mcp/storage/migrations/versions/0001_initial_schema.py"
s=open(p).read()
marker="    # ### end Alembic commands ###\n"
i=s.index(marker)+len(marker)
s=s[:i]+os.environ["SEED"]+"\n"+s[i:]
s=s.replace("from alembic import op\n","from alembic import op\n\nfrom analytics_mcp.storage.schema import PLAN_LIMITS\n",1)
open(p,"w").write(s)
PY
.venv/bin/ruff format -q $M; .venv/bin/ruff check --fix -q $M || true
rm -f /tmp/gen.db*
