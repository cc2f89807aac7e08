#include "metrics/process_metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "build_info.hpp"

namespace lg::metrics {
namespace {

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double v = 0;
      in >> v;
      return v;
    }
    in.ignore(1 << 16, '\n');
  }
  return 0;
}

struct ProcStat {
  double utime_ticks = 0, stime_ticks = 0, start_ticks = 0, vsize = 0, rss_pages = 0;
};

ProcStat read_stat() {
  ProcStat s;
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  // Field 2 (comm) may hold spaces: parse after the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream rest(line.substr(close + 2));
  std::string f;
  // Fields from 3 (state) on; utime=14 stime=15 starttime=22 vsize=23 rss=24.
  for (int field = 3; field <= 24 && rest >> f; ++field) {
    if (field == 14) s.utime_ticks = std::stod(f);
    else if (field == 15) s.stime_ticks = std::stod(f);
    else if (field == 22) s.start_ticks = std::stod(f);
    else if (field == 23) s.vsize = std::stod(f);
    else if (field == 24) s.rss_pages = std::stod(f);
  }
  return s;
}

double count_open_fds() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return 0;
  double n = 0;
  while (auto* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n - 1;  // the directory stream's own fd
}

}  // namespace

void register_process_metrics(Registry& r) {
  auto& cpu = r.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
  auto& rss = r.gauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  auto& vms = r.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
  auto& fds = r.gauge("process_open_fds", "Number of open file descriptors.");
  auto& max_fds = r.gauge("process_max_fds", "Maximum number of open file descriptors.");
  auto& start = r.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.");
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double btime = boot_time_seconds();
  r.add_collector([&cpu, &rss, &vms, &fds, &max_fds, &start, ticks, page, btime] {
    ProcStat s = read_stat();
    cpu.with().mirror((s.utime_ticks + s.stime_ticks) / ticks);
    rss.with().set(s.rss_pages * page);
    vms.with().set(s.vsize);
    start.with().set(btime + s.start_ticks / ticks);
    fds.with().set(count_open_fds());
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) max_fds.with().set(static_cast<double>(lim.rlim_cur));
  });
}

void register_build_info(Registry& r) {
  r.gauge("lettagate_build_info", "lettagate build: version and git revision (always 1).", {"version", "revision"})
      .with({build::kVersion, build::kRevision})
      .set(1);
}

}  // namespace lg::metrics
