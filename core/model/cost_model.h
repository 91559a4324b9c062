// The cost model: how long a scene will take to render, before it is queued.
//
// One cost unit is one path segment the renderer may trace: every pixel traces
// `samples` paths of at most `max_depth` bounces, so
//     units = width × height × samples × max_depth.
// A worker measures its throughput in units per second (the renderer's pixel
// samples per second × max_depth) and the store keeps the last measurement; the
// responder divides a scene's units by it to predict render seconds, for the ETA
// of queued jobs and for SPEC's "422 too-expensive" check.
//
// Pure functions, no state: thread-safe. Non-finite or non-positive throughput
// falls back to kDefaultUnitsPerSecond instead of dividing by zero.
#pragma once

#include <string>

#include "core/model/scene.h"

namespace renderq {

// Throughput assumed until a worker has measured one: the low end of what the CPU
// backend measures on the project's 2-core reference machine (2e7 to 5e7 units/s
// across the example scenes; paths end well before max_depth, so these units
// run faster than rays). At this rate the SPEC example scene (640×360, 64
// samples, depth 8 = 118 M units) is predicted at 5.9 s. A GPU worker replaces
// the value with one 100-1000× larger after its first job.
inline constexpr double kDefaultUnitsPerSecond = 2e7;

// SPEC: a scene predicted to render longer than this is refused (configurable).
inline constexpr double kDefaultMaxRenderSeconds = 60.0;

double CostUnits(int width, int height, int samples, int max_depth);
double CostUnits(const SceneDescription& scene);

// units / units_per_second, with the default throughput when units_per_second
// is not a positive finite number. Never negative or NaN.
double EstimateRenderSeconds(double units, double units_per_second);

struct CostCheck {
  double units = 0.0;
  double estimated_seconds = 0.0;
  bool too_expensive = false;
  // Only when too_expensive, ready for a problem's "detail":
  // "estimated render time 118.0 s exceeds the limit of 60 s (118 M cost units at
  // 1.0 M units/s); lower width, height, samples or max_depth".
  std::string detail;
};

// The detail of a too-expensive refusal: "estimated render time 118.0 s exceeds
// the limit of 60 s (118 M cost units at 1.0 M units/s); lower width, height,
// samples or max_depth".
std::string TooExpensiveDetail(double units, double units_per_second, double limit_seconds);

// The SPEC's too-expensive check for a validated scene.
CostCheck CheckRenderCost(const SceneDescription& scene, double units_per_second,
                          double limit_seconds = kDefaultMaxRenderSeconds);

}  // namespace renderq
