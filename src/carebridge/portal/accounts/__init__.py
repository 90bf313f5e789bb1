"""Patient accounts of the internet hospital: phone sign-in, real name, family members."""
