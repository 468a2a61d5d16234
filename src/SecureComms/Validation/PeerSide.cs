namespace SecureComms;

/// <summary>Which side of a connection a validated peer certificate belongs to; decides the required EKU.</summary>
public enum PeerSide
{
    /// <summary>The peer is a caller (TLS client): its certificate must allow <c>clientAuth</c> when it has an EKU.</summary>
    Client,

    /// <summary>The peer is a server: its certificate must allow <c>serverAuth</c> when it has an EKU.</summary>
    Server,
}
