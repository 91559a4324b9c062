// The scene format (SPEC "Scene format") as a JSON Schema, draft 7: the
// input_schema GET /api/v1/kinds shows for the built-in kind, so a client (the
// console) can hint at mistakes before it submits. The responder's own scene
// checks (core/model/scene_json.h) decide; they go further than a schema can
// (names unique and defined, edges not parallel, indices in range, cost).
// fcgi/scene_schema.json, compiled in at configure time.
#pragma once

#include <string_view>

namespace renderq {

std::string_view SceneSchemaJson();

}  // namespace renderq
