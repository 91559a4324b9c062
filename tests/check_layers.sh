#!/bin/sh
# The layers of docs/architecture.md, checked on the sources: the programs
# (fcgi/, worker/, ctl/) reach the queue through core/store only, include no
# storage backend's header and never decide by the kind of --db; the backend
# contract includes nothing above it; the renderer depends on the model alone.
# Needs RENDERQ_SOURCE_DIR.
set -u
cd "$RENDERQ_SOURCE_DIR" || exit 1
failed=0
refuse() {  # refuse WHAT PATTERN DIRS...
  what=$1 pattern=$2
  shift 2
  found=$(grep -rnE "$pattern" "$@" --include='*.h' --include='*.cpp' --include='*.cu' || true)
  if [ -n "$found" ]; then
    echo "layering: $what:"
    echo "$found"
    failed=1
  fi
}
refuse "a program includes a storage backend" '#include "core/(sqlite|postgres)/' fcgi worker ctl
refuse "a program decides by the kind of --db" 'IsPostgresUri' fcgi worker ctl
refuse "the backend contract includes the layer above it" \
  '#include "core/store/(job_store|queue_job_store|open_job_store)\.h"' \
  core/store/queue_storage.h core/store/store_types.h core/sqlite core/postgres
refuse "a backend includes the other backend" '#include "core/postgres/' core/sqlite
refuse "a backend includes the other backend" '#include "core/sqlite/' core/postgres
refuse "the renderer depends on more than the model" \
  '#include "core/(util|store|sqlite|postgres)/' kernels
refuse "the model depends on a layer above it" '#include "core/(util|store|sqlite|postgres)/' \
  core/model
[ "$failed" = 0 ] && echo "layering: ok"
exit "$failed"
