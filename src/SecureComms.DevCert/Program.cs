using SecureComms.DevCert;

return DevCertCommand.Run(args, Console.Out, Console.Error);
