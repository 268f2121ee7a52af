// Prometheus text exposition of the metrics registry and the xyserve:* metric set.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "server/metrics_registry.h"
#include "server/server_metrics.h"

namespace xy::server {
namespace {

TEST(MetricsRegistry, RendersCountersGaugesHistograms) {
  MetricsRegistry reg("model_name=\"m\"");
  Counter* c = reg.counter("xyserve:things_total", "Things.");
  Gauge* g = reg.gauge("xyserve:level", "Level.");
  Histogram* h = reg.histogram("xyserve:latency_seconds", "Latency.", {0.1, 1.0});
  c->inc();
  c->inc(2);
  g->set(0.25);
  h->observe(0.05);
  h->observe(0.1);  // le is inclusive
  h->observe(0.5);
  h->observe(7);
  const std::string text = reg.render();
  EXPECT_EQ(text,
            "# HELP xyserve:things_total Things.\n"
            "# TYPE xyserve:things_total counter\n"
            "xyserve:things_total{model_name=\"m\"} 3\n"
            "# HELP xyserve:level Level.\n"
            "# TYPE xyserve:level gauge\n"
            "xyserve:level{model_name=\"m\"} 0.25\n"
            "# HELP xyserve:latency_seconds Latency.\n"
            "# TYPE xyserve:latency_seconds histogram\n"
            "xyserve:latency_seconds_bucket{model_name=\"m\",le=\"0.10000000000000001\"} 2\n"
            "xyserve:latency_seconds_bucket{model_name=\"m\",le=\"1\"} 3\n"
            "xyserve:latency_seconds_bucket{model_name=\"m\",le=\"+Inf\"} 4\n"
            "xyserve:latency_seconds_sum{model_name=\"m\"} 7.6500000000000004\n"
            "xyserve:latency_seconds_count{model_name=\"m\"} 4\n");
}

TEST(MetricsRegistry, LabeledSeriesAndEscaping) {
  MetricsRegistry reg("");
  reg.labeled_counter("x_total", "X.", "reason", "a\"b\\c\nd")->inc();
  reg.labeled_counter("x_total", "X.", "reason", "stop")->inc(5);
  EXPECT_EQ(reg.labeled_counter("x_total", "X.", "reason", "stop")->value(), 5.0);
  const std::string text = reg.render();
  EXPECT_NE(text.find("x_total{reason=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_total{reason=\"stop\"} 5\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("# TYPE x_total counter"),
            text.rfind("# TYPE x_total counter"));  // one header
}

TEST(MetricsRegistry, ConcurrentUpdatesAreCounted) {
  MetricsRegistry reg("");
  Counter* c = reg.counter("c_total", "C.");
  Histogram* h = reg.histogram("h", "H.", {1.0});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c->inc();
        h->observe(0.5);
      }
    });
  }
  std::thread renderer([&] {
    for (int i = 0; i < 50; ++i) (void)reg.render();
  });
  for (auto& t : threads) t.join();
  renderer.join();
  EXPECT_EQ(c->value(), 40000.0);
  EXPECT_EQ(h->snapshot().cumulative.back(), 40000u);
  c->set_total(10);  // mirrored totals never go backwards
  EXPECT_EQ(c->value(), 40000.0);
  c->set_total(50000);
  EXPECT_EQ(c->value(), 50000.0);
}

TEST(ServerMetrics, NamesMirrorVllmAndStepHistograms) {
  ServerMetrics m("tiny");
  RequestRecord r;
  r.prompt_tokens = 10;
  r.generation_tokens = 3;
  r.ttft_s = 0.2;
  r.e2e_s = 0.5;
  r.queue_time_s = 0.01;
  r.inter_token_s = {0.1, 0.2};
  r.finish_reason = "length";
  m.on_request_finished(r);
  EngineStats prev, cur;
  cur.num_steps = 1;
  cur.last_step_time_s = 0.03;
  cur.last_step_prefill_tokens = 10;
  cur.last_step_decode_tokens = 2;
  m.on_engine_stats(prev, cur);
  // Three steps at once: recorded as three averaged observations.
  EngineStats cur2 = cur;
  cur2.num_steps = 4;
  cur2.total_step_time_s = 0.3;
  cur2.num_decode_tokens = 6;
  m.on_engine_stats(cur, cur2);
  cur2.num_running = 2;
  cur2.num_kv_blocks = 100;
  cur2.num_free_kv_blocks = 75;
  cur2.prefix_cache_queries = 40;
  cur2.prefix_cache_hits = 16;
  cur2.num_generated_tokens = 3;
  const std::string text = m.render(cur2, 25, 3, 1);
  for (const char* line :
       {"xyserve:num_requests_running{model_name=\"tiny\"} 2\n",
        "xyserve:kv_cache_usage_perc{model_name=\"tiny\"} 0.25\n",
        "xyserve:kv_cache_used_blocks{model_name=\"tiny\"} 25\n",
        "xyserve:prefix_cache_queries_total{model_name=\"tiny\"} 40\n",
        "xyserve:prefix_cache_hits_total{model_name=\"tiny\"} 16\n",
        "xyserve:generation_tokens_total{model_name=\"tiny\"} 3\n",
        "xyserve:time_to_first_token_seconds_count{model_name=\"tiny\"} 1\n",
        "xyserve:inter_token_latency_seconds_count{model_name=\"tiny\"} 2\n",
        "xyserve:request_queue_time_seconds_count{model_name=\"tiny\"} 1\n",
        "xyserve:step_duration_seconds_count{model_name=\"tiny\"} 4\n",
        "xyserve:step_decode_tokens_sum{model_name=\"tiny\"} 8\n",
        "xyserve:request_success_total{model_name=\"tiny\",finished_reason=\"length\"} 1\n",
        "xyserve:http_connections{model_name=\"tiny\"} 3\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
}

}  // namespace
}  // namespace xy::server
