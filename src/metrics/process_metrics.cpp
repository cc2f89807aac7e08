#include "metrics/process_metrics.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "build_info.hpp"

namespace lg::metrics {
namespace {

// Reads a small /proc file whole with plain syscalls (no iostreams: their locale machinery
// costs more than the kernel's side). Empty on failure.
std::string read_small_file(const char* path) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

double boot_time_seconds() {
  std::string stat = read_small_file("/proc/stat");
  auto pos = stat.find("\nbtime ");
  return pos == std::string::npos ? 0 : std::strtod(stat.c_str() + pos + 7, nullptr);
}

// Field 22 of /proc/self/stat (starttime, clock ticks after boot). Field 2 (comm) may hold
// spaces: count fields after the last ')'.
double start_ticks() {
  std::string line = read_small_file("/proc/self/stat");
  auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  const char* p = line.c_str() + close + 1;
  for (int field = 3; field <= 22; ++field) {
    while (*p == ' ') ++p;
    if (field == 22) return std::strtod(p, nullptr);
    while (*p && *p != ' ') ++p;
  }
  return 0;
}

double count_open_fds_by_listing() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return 0;
  double n = 0;
  while (auto* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n - 1;  // the directory stream's own fd
}

// What each scrape reads, kept open from registration on: a scrape is then a pread of
// /proc/self/statm and an fstat of /proc/self/fd instead of opening and parsing
// /proc/self/stat and listing one directory entry per open fd. Both fds are opened before
// anything else runs, so they are in every fd baseline (and counted by process_open_fds,
// like any open fd).
class ProcSelf {
 public:
  ProcSelf()
      : statm_(::open("/proc/self/statm", O_RDONLY | O_CLOEXEC)),
        fd_dir_(::open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC)) {}
  ~ProcSelf() {
    if (statm_ >= 0) ::close(statm_);
    if (fd_dir_ >= 0) ::close(fd_dir_);
  }
  ProcSelf(const ProcSelf&) = delete;
  ProcSelf& operator=(const ProcSelf&) = delete;

  // statm: "size resident shared text lib data dt", in pages (size and resident are the
  // vsize and rss fields of /proc/self/stat).
  bool memory_pages(double* vsize, double* rss) const {
    char buf[256];
    ssize_t n = statm_ >= 0 ? ::pread(statm_, buf, sizeof buf, 0) : -1;
    if (n <= 0) return false;
    const char* end = buf + n;
    uint64_t size = 0, resident = 0;
    auto r = std::from_chars(buf, end, size);
    if (r.ec != std::errc() || r.ptr == end) return false;
    if (std::from_chars(r.ptr + 1, end, resident).ec != std::errc()) return false;
    *vsize = static_cast<double>(size);
    *rss = static_cast<double>(resident);
    return true;
  }

  // Since Linux 6.2 the size of /proc/PID/fd is the number of open fds; older kernels say 0,
  // and then the directory is listed.
  double open_fds() const {
    struct stat st {};
    if (fd_dir_ >= 0 && ::fstat(fd_dir_, &st) == 0 && st.st_size > 0) return static_cast<double>(st.st_size);
    return count_open_fds_by_listing();
  }

 private:
  int statm_;
  int fd_dir_;
};

double cpu_seconds() {
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

}  // namespace

void register_process_metrics(Registry& r) {
  auto& cpu = r.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.").with();
  auto& rss = r.gauge("process_resident_memory_bytes", "Resident memory size in bytes.").with();
  auto& vms = r.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.").with();
  auto& fds = r.gauge("process_open_fds", "Number of open file descriptors.").with();
  auto& max_fds = r.gauge("process_max_fds", "Maximum number of open file descriptors.").with();
  auto& start = r.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.").with();
  // The start time does not change: computed once.
  start.set(boot_time_seconds() + start_ticks() / static_cast<double>(sysconf(_SC_CLK_TCK)));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  auto proc = std::make_shared<ProcSelf>();  // std::function needs a copyable callable
  r.add_collector([&cpu, &rss, &vms, &fds, &max_fds, page, proc] {
    cpu.mirror(cpu_seconds());
    double vsize_pages = 0, rss_pages = 0;
    if (proc->memory_pages(&vsize_pages, &rss_pages)) {
      rss.set(rss_pages * page);
      vms.set(vsize_pages * page);
    }
    fds.set(proc->open_fds());
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) max_fds.set(static_cast<double>(lim.rlim_cur));
  });
}

void register_build_info(Registry& r) {
  r.gauge("lettagate_build_info", "lettagate build: version and git revision (always 1).", {"version", "revision"})
      .with({core::build::kVersion, core::build::kRevision})
      .set(1);
}

}  // namespace lg::metrics
