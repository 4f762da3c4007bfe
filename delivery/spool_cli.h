// `ringmx spool ...`: the operator's tools on a spool, safe while a ringmx
// process is writing it.
//
//   ringmx spool [--config FILE | --path DIR] list [--all]
//   ringmx spool [--config FILE | --path DIR] show QUEUE-ID
//   ringmx spool [--config FILE | --path DIR] export --maildir DIR [--mark-done]
//   ringmx spool [--config FILE | --path DIR] check
//
// Exit status: 0 success, 1 a message or segment problem (unknown queue id,
// corrupt segment found by check, a failed export), 2 usage or
// configuration error.
#pragma once

namespace ringmx::delivery {

// argv[0] is the word "spool" (or any program name); the subcommand and
// options follow. Output on stdout, errors on stderr.
int spool_main(int argc, char** argv);

}  // namespace ringmx::delivery
