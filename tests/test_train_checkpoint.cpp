// Checkpoint files: atomic replacement (a write killed half-way leaves the previous file
// intact), state round trip, newest-valid-state search, keep_last pruning.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/atomic_file.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "train/checkpoint.h"
#include "train/stage_loop.h"

using namespace sr;
using namespace sr::train;
namespace fs = std::filesystem;

namespace {
std::string fresh_dir(const std::string& name) {
  const std::string d = std::string(SRENGINE_BINARY_DIR) + "/test_tmp/" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
}  // namespace

TEST_CASE("checkpoint/killed_write_leaves_previous_file") {
  const std::string dir = fresh_dir("killed_write");
  const std::string path = dir + "/net.safetensors";
  Tensor small = Tensor::full({4}, 1.5);
  write_safetensors(path, {{"w", small}});
  // A child process rewrites the file with ~64 MB of data and is killed mid-write.
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    Tensor big = Tensor::full({16 << 20}, 2.0);
    for (;;) write_safetensors(path, {{"w", big}});
  }
  usleep(150 * 1000);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  // Whatever the moment of death, the file is a complete old or new version.
  SafetensorsFile f = read_safetensors(path);
  const Tensor& w = f.get("w");
  const double v = w.to_vector()[0];
  CHECK((v == 1.5 || v == 2.0));
  CHECK(w.numel() == (v == 1.5 ? 4 : (16 << 20)));
}

TEST_CASE("checkpoint/failed_write_keeps_old_file_and_no_temp") {
  const std::string dir = fresh_dir("failed_write");
  const std::string path = dir + "/state.bin";
  write_file_atomically(path, [](std::FILE* f) { std::fputs("old", f); });
  CHECK_THROWS_AS(write_file_atomically(path, [](std::FILE* f) {
                    std::fputs("partial", f);
                    throw Error("disk full (simulated)");
                  }),
                  Error);
  std::ifstream in(path);
  std::string content;
  in >> content;
  CHECK(content == "old");
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  CHECK(files == 1);  // no temporary left behind
  // A destination in a folder that does not exist is an error naming the path.
  CHECK_THROWS_WITH(write_file_atomically(dir + "/missing/x.bin", [](std::FILE*) {}),
                    Catch::Contains("missing/x.bin"));
}

// What is at the destination decides where the bytes go: a symbolic link to a file is
// followed (the file is replaced, the link stays a link); a FIFO (as a device such as
// /dev/null would be) is refused and left as it was, never replaced by a plain file.
TEST_CASE("checkpoint/atomic_write_follows_links_and_refuses_special_files") {
  const std::string dir = fresh_dir("special");
  const std::string real = dir + "/real.bin", link = dir + "/link.bin", fifo = dir + "/fifo.bin";
  write_file_atomically(real, [](std::FILE* f) { std::fputs("old", f); });
  fs::create_symlink(real, link);
  write_file_atomically(link, [](std::FILE* f) { std::fputs("new", f); });
  CHECK(fs::is_symlink(fs::symlink_status(link)));
  std::ifstream in(real);
  std::string content;
  in >> content;
  CHECK(content == "new");
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  CHECK_THROWS_WITH(write_file_atomically(fifo, [](std::FILE* f) { std::fputs("x", f); }),
                    Catch::Contains("fifo.bin") && Catch::Contains("is not a regular file"));
  CHECK(fs::is_fifo(fs::symlink_status(fifo)));
  const std::string fifo_link = dir + "/fifo_link.bin";
  fs::create_symlink(fifo, fifo_link);
  CHECK_THROWS_WITH(write_file_atomically(fifo_link, [](std::FILE*) {}),
                    Catch::Contains("fifo_link.bin") && Catch::Contains("names '"));
  int temporaries = 0;
  for (const auto& e : fs::directory_iterator(dir))
    temporaries += e.path().filename().string().find(".tmp.") != std::string::npos;
  CHECK(temporaries == 0);
}

// Files written at once from several threads (prepare's workers) get the permissions a plain
// fopen gives under the process umask, and the umask stays as it was: reading the umask
// means setting it, which raced with the other threads' files (some came out 0666).
TEST_CASE("checkpoint/atomic_writes_from_threads_keep_the_umask") {
  // The race needs two threads inside the umask read at once: four rounds of 16 x 250
  // writes caught the old code every time in 10 runs, where one round did about half.
  const mode_t before = ::umask(022);
  int files = 0, wrong = 0;
  mode_t after = 022;
  for (int round = 0; round < 4 && wrong == 0 && after == 022; ++round) {
    const std::string dir = fresh_dir("umask_threads");
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t)
      threads.emplace_back([&dir, t] {
        for (int i = 0; i < 250; ++i)
          write_file_atomically(dir + "/f" + std::to_string(t) + "_" + std::to_string(i),
                                [](std::FILE* f) { std::fputs("x", f); }, Durability::replaced_on_success);
      });
    for (std::thread& t : threads) t.join();
    after = ::umask(022);
    files = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
      struct stat st {};
      REQUIRE(::stat(e.path().c_str(), &st) == 0);
      ++files;
      wrong += (st.st_mode & 0777) != 0644;
    }
    CHECK(files == 16 * 250);
  }
  ::umask(before);
  CHECK(after == 022);
  CHECK(wrong == 0);
}

TEST_CASE("checkpoint/state_round_trip_and_latest") {
  const std::string dir = fresh_dir("states");
  Tensor a = Tensor::full({3}, 0.25);
  for (int64_t iter : {10, 20, 30}) {
    TrainingState s;
    s.stage = "psnr";
    s.stage_index = 0;
    s.iter = iter;
    s.tensors = {{"net_g.w", a}};
    s.info.loader_epoch = 1;
    s.info.loader_batch = iter;
    s.info.best["psnr/val_psnr"] = BestMetric{20.5, iter};
    save_training_state(dir, s);
  }
  TrainingState g;
  g.stage = "gan";
  g.stage_index = 1;
  g.iter = 5;
  g.tensors = {{"net_g.w", a}};
  save_training_state(dir, g);
  // Stage order wins over iteration numbers.
  CHECK(find_latest_state(dir).value() == state_path(dir, "gan", 5));
  // A corrupt newest file is skipped with a note.
  { std::ofstream(state_path(dir, "gan", 6)) << "garbage"; }
  std::string skipped;
  CHECK(find_latest_state(dir, &skipped).value() == state_path(dir, "gan", 5));
  CHECK_THAT(skipped, Catch::Contains("gan_6.state"));
  TrainingState back = load_training_state(state_path(dir, "psnr", 20));
  CHECK(back.stage == "psnr");
  CHECK(back.iter == 20);
  CHECK(back.info.loader_batch == 20);
  CHECK(back.info.loader_epoch == 1);
  CHECK_FALSE(back.info.optim_g_steps.has_value());  // not written: a resume names it
  CHECK_THROWS_WITH(back.count(&StateInfo::optim_g_steps, "optim_g_steps"), Catch::Contains("has no 'optim_g_steps'"));
  CHECK(back.info.best.at("psnr/val_psnr").value == 20.5);
  CHECK(back.info.best.at("psnr/val_psnr").iter == 20);
  CHECK(back.tensors.at(0).second.to_vector() == a.to_vector());
  // keep_last 2 removes psnr_10 only.
  prune_checkpoints(dir + "/training_states", "", "psnr", ".state", 2);
  CHECK_FALSE(fs::exists(state_path(dir, "psnr", 10)));
  CHECK(fs::exists(state_path(dir, "psnr", 20)));
  CHECK(fs::exists(state_path(dir, "gan", 5)));
  // A name that only looks like a checkpoint (another stage's, digits past int64, a sign)
  // is no iteration, and pruning leaves it alone instead of failing on it.
  CHECK(checkpoint_iteration("net_g_psnr_12.safetensors", "net_g_psnr_", ".safetensors") == 12);
  CHECK(checkpoint_iteration("net_g_psnr_final.safetensors", "net_g_psnr_", ".safetensors") == -1);
  for (const char* other : {"net_g_psnr_b_4.safetensors", "net_g_psnr_-4.safetensors", "net_g_psnr_.safetensors",
                            "net_g_psnr_99999999999999999999.safetensors"})
    CHECK_FALSE(checkpoint_iteration(other, "net_g_psnr_", ".safetensors").has_value());
  std::ofstream(dir + "/training_states/psnr_99999999999999999999.state") << "x";
  CHECK_NOTHROW(prune_checkpoints(dir + "/training_states", "", "psnr", ".state", 1));
  CHECK(fs::exists(dir + "/training_states/psnr_99999999999999999999.state"));
}

// Two runs that overlap and end in the order they began (two Python threads training at once):
// afterwards the process's own SIGINT / SIGTERM handlers are back, not the runs' stop handler
// (which each scope restoring what it saw left installed: Python's Ctrl-C was gone for good).
TEST_CASE("checkpoint/overlapping_stop_signal_scopes_restore_the_handlers") {
  void (*const own)(int) = [](int) {};
  void (*const before_int)(int) = std::signal(SIGINT, own);
  void (*const before_term)(int) = std::signal(SIGTERM, own);
  const auto handler_of = [](int sig) {
    struct sigaction sa {};
    sigaction(sig, nullptr, &sa);
    return sa.sa_handler;
  };
  auto first = std::make_unique<sr::train::StopSignalScope>();
  CHECK(handler_of(SIGINT) != own);
  auto second = std::make_unique<sr::train::StopSignalScope>();
  first.reset();
  CHECK(handler_of(SIGINT) != own);  // the second run still stops on Ctrl-C
  second.reset();
  CHECK(handler_of(SIGINT) == own);
  CHECK(handler_of(SIGTERM) == own);
  std::signal(SIGINT, before_int);
  std::signal(SIGTERM, before_term);
}

// A stop the process still owes (the Python module: Ctrl-C reached a run in one thread while
// another was starting) is pending in every scope that begins while it is set; ignored SIGHUP
// and SIGPIPE stay ignored inside a scope (nohup), SIGINT is caught even where ignored.
TEST_CASE("checkpoint/carried_over_stop_and_ignored_signals_in_a_scope") {
  const auto handler_of = [](int sig) {
    struct sigaction sa {};
    sigaction(sig, nullptr, &sa);
    return sa.sa_handler;
  };
  void (*const before_hup)(int) = std::signal(SIGHUP, SIG_IGN);
  void (*const before_int)(int) = std::signal(SIGINT, SIG_IGN);
  {
    const sr::train::StopSignalScope scope;
    CHECK(sr::train::StopSignalScope::pending() == 0);
    CHECK(handler_of(SIGHUP) == SIG_IGN);
    CHECK(handler_of(SIGINT) != SIG_IGN);
  }
  sr::train::StopSignalScope::set_carried_over(SIGINT);
  {
    const sr::train::StopSignalScope scope;
    CHECK(sr::train::StopSignalScope::pending() == SIGINT);
  }
  sr::train::StopSignalScope::set_carried_over(0);
  {
    const sr::train::StopSignalScope scope;
    CHECK(sr::train::StopSignalScope::pending() == 0);
  }
  std::signal(SIGHUP, before_hup);
  std::signal(SIGINT, before_int);
}

// The process's own action comes back whole, flags included: a handler without SA_RESTART and
// with SA_ONSTACK (Python's, which relies on EINTR to see Ctrl-C in blocking calls) keeps
// them. signal() restored it with SA_RESTART added and SA_ONSTACK dropped.
TEST_CASE("checkpoint/stop_signal_scope_restores_the_whole_action") {
  struct sigaction own {}, before {}, after {};
  own.sa_handler = [](int) {};
  sigemptyset(&own.sa_mask);
  sigaddset(&own.sa_mask, SIGUSR1);
  own.sa_flags = SA_ONSTACK;
  sigaction(SIGINT, &own, &before);
  { const sr::train::StopSignalScope scope; }
  sigaction(SIGINT, nullptr, &after);
  CHECK(after.sa_handler == own.sa_handler);
  CHECK((after.sa_flags & (SA_RESTART | SA_ONSTACK)) == SA_ONSTACK);
  CHECK(sigismember(&after.sa_mask, SIGUSR1) == 1);
  sigaction(SIGINT, &before, nullptr);
}
