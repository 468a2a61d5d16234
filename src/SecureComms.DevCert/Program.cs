using SecureComms.DevCert;

return await DevCertCommand.RunAsync(args, Console.Out, Console.Error, TimeProvider.System, CancellationToken.None).ConfigureAwait(false);
