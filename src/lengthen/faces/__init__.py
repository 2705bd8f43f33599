"""Faces: detect -> align -> embed -> track -> cluster -> one IdentityBank per character."""
