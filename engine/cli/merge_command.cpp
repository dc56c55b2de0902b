// `lepsim merge SHARD.h5... -o FILE.h5`: the shard files of an experiment, or of a run, into its file.

#include <cstdio>

#include "commands.hpp"
#include "lepsim/error.hpp"
#include "lepsim/experiment.hpp"
#include "lepsim/run.hpp"

namespace lepsim::cli {

namespace {

const char* MERGE_HELP = R"(lepsim merge SHARD.h5... -o FILE.h5 [--force]

Joins the shard files written by `lepsim experiment EXPERIMENT.toml --shard K/N`
(for example by the tasks of a Slurm job array) into the experiment file: the same
datasets, bit for bit, as one process running the whole experiment. The shards may
be given in any order. The experiment file is read again (from the path the shards
ran it with) for the design; it and its base scenario must be unchanged.
Shards of `lepsim run SCENARIO.toml --shard K/N` are joined the same way into the
run file one process writes (the scenario is read again and must be unchanged).

Refused, naming the files: a file that is not a shard; a foreign shard (another
experiment or scenario, seed, base scenario, engine version, replications or block
size); the same shard twice; shards holding the same units or replications; units
or replications in none of the shards (naming the missing shard). Nothing is
written when refused.

Examples:
  lepsim merge grid.shard-*-of-3.h5 -o grid.h5
  lepsim merge shards/*.h5 -o lhs.h5 --force
  lepsim merge bsf.shard-*-of-7.h5 -o bsf.h5

Exit codes: 0 merged, 2 bad command line, 4 output cannot be written (or exists:
--force), 5 a shard is unreadable, missing, duplicate, overlapping or foreign.
)";

void merge_options(po::options_description& opts) {
  opts.add_options()("output,o", po::value<std::string>(), "experiment file to write")("force,f", "overwrite the output");
}

int cmd_merge(const po::variables_map& vm) {
  const auto files = operands(vm, MERGE);
  if (files.empty()) throw UsageError("merge needs shard files: lepsim merge SHARD.h5... -o FILE.h5");
  if (!vm.count("output")) throw UsageError("merge needs the experiment file to write: -o FILE.h5");
  if (is_run_shard(files[0])) {  // shards of `lepsim run --shard K/N`
    const RunMergeInfo info = merge_run_shards(files, vm["output"].as<std::string>(), vm.count("force") > 0);
    std::printf("wrote %s: %lld shards merged, %lld replications in %.2f s\n", info.output_path.c_str(),
                static_cast<long long>(info.shards), static_cast<long long>(info.replications), info.seconds);
    return 0;
  }
  const MergeInfo info = merge_experiment_shards(files, vm["output"].as<std::string>(), vm.count("force") > 0);
  std::printf("wrote %s: %lld shards merged, %lld points x %lld replications in %.2f s\n", info.output_path.c_str(),
              static_cast<long long>(info.shards), static_cast<long long>(info.points),
              static_cast<long long>(info.replications), info.seconds);
  return 0;
}

}  // namespace

const Command MERGE{"merge",
                    "merge SHARD.h5... -o FILE.h5",
                    "merge the shard files of an experiment or a run (--shard K/N) into its file",
                    MERGE_HELP,
                    "shards",
                    -1,
                    merge_options,
                    cmd_merge};

}  // namespace lepsim::cli
