// A schema migration compiled into the binary, as every backend keeps them:
// sql/<backend>/NNN_name.sql, applied in version order (sql/CMakeLists.txt
// embeds them and checks the numbering).
#pragma once

namespace renderq {

struct Migration {
  int version;       // 1, 2, ...: the NNN of the file name
  const char* name;  // "001_initial.sql"
  const char* sql;
};

}  // namespace renderq
