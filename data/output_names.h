// Output names that can never leave their output folder or overwrite an input: the one
// place where `srengine infer`, `srengine resize` and the trainer's experiment and
// validation names are checked. Every check runs before the first file is written, so a
// bad --suffix, two inputs that would share an output name, or an output folder that is
// the input folder (or not empty, for `prepare` and `degrade`) cost nothing.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace sr::data {

// `name` must be one file-name component: not empty, not "." or "..", no '/' and no NUL.
// `what` names the option or key ("config: 'name'"), `why` says what the name is for.
void check_file_name_component(const std::string& name, const std::string& what, const std::string& why);

// A piece appended to file names (a suffix): no '/' and no NUL; may be empty.
void check_name_part(const std::string& part, const std::string& what);

struct PlannedOutput {
  std::string input, output;
};

// One output per input, <out_dir>/<name_of(input)>, refused as a whole (an sr::Error
// starting with `what`) when a name is not one file-name component, when two inputs
// would be written to the same output, or when an output is an existing input file
// (the same inode, so hard links and symlinks count).
std::vector<PlannedOutput> plan_outputs(const std::vector<std::string>& inputs, const std::string& out_dir,
                                        const std::function<std::string(const std::string&)>& name_of,
                                        const std::string& what);

// BasicSR's mkdir_and_rename for a results folder: when `dir` exists and is not empty it
// is renamed to <dir>_archived_<YYYYmmdd_HHMMSS> (plus _<n> when a folder of that name
// already exists, e.g. two runs in one second), and the new name is returned; otherwise
// "". A `dir` that is the working directory or holds it is refused (an error starting
// with `what`): renaming it would pull the ground from under the run. A `dir` that is a
// symbolic link keeps it: the folder it names is archived beside itself and made again.
std::string archive_existing_folder(const std::string& dir, const std::string& what);

// Whether `path` is `folder` or lies under it, both resolved (symbolic links, '..', a
// trailing '/'), so that nothing that exists only through another spelling slips past.
bool path_lies_within(const std::string& path, const std::string& folder);

// Whether two paths name one folder, also when it does not exist yet or they are spelt
// differently (a/../b, a trailing '/', a symbolic link).
bool is_same_folder(const std::string& a, const std::string& b);

// An output folder (`what` names the command and option, "prepare: --output") must not exist
// yet or be empty: files of an earlier run would mix with the new ones and could not be told
// apart (BasicSR's extract_subimages stops the same way). The error names the folder and how
// many entries it holds.
void check_output_folder_is_new(const std::string& dir, const std::string& what);

// Two folders given for different roles (input and output, HR and LQ output) must not be one
// folder, also when they do not exist yet or are spelt differently (a/../b, a symbolic
// link). `a_what` / `b_what` name the options ("prepare: --output").
void check_different_folders(const std::string& a, const std::string& a_what, const std::string& b,
                             const std::string& b_what);

// `output` (an explicit path, e.g. `resize IN.png OUT.png`) must not be any of `inputs`.
void check_output_is_not_an_input(const std::string& output, const std::vector<std::string>& inputs,
                                  const std::string& what);

}  // namespace sr::data
