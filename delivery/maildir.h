// Writing a spooled message into a Maildir, the way Postfix's local(8)
// delivers: the envelope as header lines in front of the message,
//   Return-Path: <sender>
//   X-Original-To: rcpt
//   Delivered-To: rcpt
// (one X-Original-To/Delivered-To pair per recipient, in RCPT order, as
// one file holds the message for all of them) and lines ending in LF, as
// Maildir readers expect: CRLF from the wire becomes LF.
#pragma once

#include <filesystem>
#include <string>

#include "delivery/envelope.h"
#include "delivery/spool_reader.h"

namespace ringmx::delivery {

// The header lines written in front of the message.
std::string maildir_delivery_headers(const Envelope& env);

// Creates DIR, DIR/tmp, DIR/new and DIR/cur if missing. 0 or errno.
int ensure_maildir(const std::filesystem::path& dir);

// Writes the message to tmp/<name>, fsyncs it, renames it to new/<name>.
// The rename is durable once sync_maildir_new() returns 0. `name` is set to
// the file name used (unique: it carries the queue id). 0 or errno.
int write_maildir_message(const std::filesystem::path& dir, const Envelope& env, BodyStream body,
                          std::string& name);

int sync_maildir_new(const std::filesystem::path& dir);

}  // namespace ringmx::delivery
