// =====================================================================================================================
//  DEVELOPMENT ONLY. THIS IS NOT AN AUTHORIZATION SERVER FOR PRODUCTION.
//
//  It hosts SecureComms.Testing's DevelopmentTokenServer so that the standalone samples have somewhere to get
//  certificate-bound access tokens from: no persistence, no consent, no hardening, signing keys that live in memory
//  and change at every start. In production, point SecureComms:Clients:{name}:Token and SecureComms:TokenValidation at
//  your real authorization server (one that supports RFC 8705 mutual-TLS client authentication and bound tokens).
// =====================================================================================================================
using SecureComms.Samples.TokenServer;
using SecureComms.Testing;

HostApplicationBuilder builder = Host.CreateApplicationBuilder(args); // appsettings.json, environment, command line

// Port, SVID, client trust bundle and registered clients, from the "DevelopmentTokenServer" section.
DevelopmentTokenServerSettings settings = builder.Configuration.GetSection(DevelopmentTokenServerSettings.SectionName).Get<DevelopmentTokenServerSettings>()
    ?? throw new InvalidOperationException($"The {DevelopmentTokenServerSettings.SectionName} section is missing from appsettings.json.");

using IHost host = builder.Build();
ILogger logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SecureComms.Samples.TokenServer");
DevelopmentTokenServerOptions options = settings.ToOptions(host.Services.GetRequiredService<ILoggerFactory>());
await using DevelopmentTokenServer server = await DevelopmentTokenServer.StartAsync(options);
SampleLog.Started(logger, server.Issuer, options.ServerCertificate.SpiffeId, string.Join(", ", options.Clients.Select(c => c.ClientId)));

await host.RunAsync(); // until Ctrl+C or SIGTERM
