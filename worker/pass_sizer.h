// PassSizer: how many samples the next render pass adds.
//
// Passes are kept short (target ~0.25 s) so that progress, previews, stop
// requests and checkpoints happen between passes at a steady rhythm, whatever
// the scene and device. The first pass is one sample (nothing is known yet);
// after each pass the measured samples per second set the next size, which may
// grow at most kMaxGrowth-fold per pass (a fast first pass is often cache-warm
// luck) and shrinks at once when a pass ran long.
//
// Not thread-safe: one per job, used by the job's thread.
#pragma once

namespace renderq {

class PassSizer {
 public:
  static constexpr int kMaxGrowth = 4;

  explicit PassSizer(double target_seconds) : target_seconds_(target_seconds) {}

  // Samples for the next pass: in [1, remaining] (remaining >= 1).
  int Next(int remaining) const;

  // Records a finished pass of `samples` that took `seconds`.
  void Observe(int samples, double seconds);

  // Seconds the remaining samples should take at the measured rate; 0 before
  // any pass was observed (the caller decides what unknown means).
  double EstimateSeconds(int remaining) const;

 private:
  double target_seconds_;
  int last_samples_ = 0;
  double samples_per_second_ = 0.0;  // of the last pass
};

}  // namespace renderq
