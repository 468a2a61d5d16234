namespace SecureComms.Samples.GatewayYarp.Identity;

internal static partial class IdentityLog
{
    [LoggerMessage(1, LogLevel.Warning, "DEVELOPMENT identity provider (not for production): token server at {Issuer}, user sign-in at https://127.0.0.1:{Port}/sign-in")]
    public static partial void Started(ILogger logger, Uri issuer, int port);

    [LoggerMessage(2, LogLevel.Information, "Signed in {User}")]
    public static partial void SignedIn(ILogger logger, string user);

    [LoggerMessage(3, LogLevel.Warning, "Sign-in refused for {User}")]
    public static partial void SignInRefused(ILogger logger, string user);
}
