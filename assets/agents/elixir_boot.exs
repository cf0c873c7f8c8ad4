# Runyard Elixir agent bootstrap: passed verbatim as the `-e` argument.
# argv: <agent dir> <mode> [<target node>] <token>. Loads the agent's .beam
# files from <agent dir>/beam-<Elixir>-otp<OTP>/, compiling
# <agent dir>/elixir_agent.ex there first (temp dir + rename) when missing.
[dir | args] = System.argv()
beams = Path.join(dir, "beam-#{System.version()}-otp#{System.otp_release()}")
Code.prepend_path(beams)

unless Code.ensure_loaded?(RunyardAgent) do
  tmp = "#{beams}.tmp#{System.pid()}"
  File.rm_rf!(tmp)
  File.mkdir_p!(tmp)

  for {mod, bin} <- Code.compile_file(Path.join(dir, "elixir_agent.ex")),
      do: File.write!(Path.join(tmp, "#{mod}.beam"), bin)

  if File.rename(tmp, beams) != :ok, do: File.rm_rf(tmp)
  Code.prepend_path(beams)
end

RunyardAgent.main(args)
