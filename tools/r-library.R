# Print the first writable R library (creating the user library when none is writable).
libs <- .libPaths()
writable <- libs[file.access(libs, 2) == 0]
if (length(writable) == 0) {
  writable <- Sys.getenv("R_LIBS_USER")
  dir.create(writable, recursive = TRUE, showWarnings = FALSE)
}
cat(writable[1])
