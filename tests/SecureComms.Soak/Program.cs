using SecureComms.Soak;

// Soak: a SecureComms server in its own process under ≥ 10 minutes of varied traffic, its memory sampled, to tell
// warm-up from a leak.
//   dotnet run -c Release --project tests/SecureComms.Soak -- --minutes 10 [--sample-seconds 20] [--workers 6] [--workstation-gc]
// Exit code 0 when every answer was the expected one and the verdict is a plateau.
// The server process (started by the driver; not meant to be run by hand): --serve <folder> <authority>
if (args.Length > 0 && args[0] == "--serve")
{
    return await SoakServer.RunAsync(args[1], args[2]);
}

return await SoakDriver.RunAsync(args);
